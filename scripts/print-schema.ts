import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { printSchema } from 'graphql';
import { projectRoot } from '../src/common/project-root';
import { ALL_RESOLVERS } from '../src/app.resolvers';
import { SCALARS_MAP } from '../src/graphql/scalars/index';

/**
 * Prints the code-first schema to schema.graphql without a database, or with `--check` fails
 * when the committed file differs from what the code declares.
 */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, { logger: false });
  const schema = await app.get(GraphQLSchemaFactory).create(ALL_RESOLVERS, { scalarsMap: SCALARS_MAP });
  await app.close();
  // Not sorted: arguments keep the order in which the API declares them (SPEC Appendix A).
  const text = printSchema(schema) + '\n';
  const file = join(projectRoot(), 'schema.graphql');
  if (process.argv.includes('--check')) {
    const committed = readFileSync(file, 'utf8');
    if (committed !== text) {
      process.stderr.write('schema.graphql is stale: run `npm run schema` and commit the result.\n');
      process.exit(1);
    }
    process.stdout.write('schema.graphql is up to date.\n');
    return;
  }
  writeFileSync(file, text);
  process.stdout.write(`Wrote ${file}\n`);
}

void main();
