import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { getNamedType, type GraphQLSchema, isObjectType } from 'graphql';
import { projectRoot } from '../src/common/project-root';
import { ALL_RESOLVERS } from '../src/app.resolvers';
import { PLAIN_LIST_BOUNDS } from '../src/graphql/query-cost';
import { SCALARS_MAP } from '../src/graphql/scalars/index';
import { READ_SCOPE_TEXT } from '../src/identity/access.service';
import { ROLES_KEY } from '../src/identity/auth.guard';
import { ALL_ROLES, Role } from '../src/identity/caller';
import { READ_RULE_KEY, ReadKind } from '../src/identity/read-rules';

/**
 * The role × operation × field table of docs/security.md, generated from the resolvers'
 * metadata (`@Allow` roles, `@ReadRule` kinds) and the schema's declared costs. `--check` fails
 * when the committed table differs (a diff there changes who may read or do what), or when a
 * field that returns a transaction, hold, exchange or account declares no read rule.
 */

const BEGIN = '<!-- BEGIN GENERATED: npm run security:table -->';
const END = '<!-- END GENERATED -->';
/** Types whose every resolved field must declare a read rule. */
const GUARDED_TYPES = new Set(['Transaction', 'Hold', 'Exchange', 'Account']);

interface Entry {
  readonly parent: string;
  readonly field: string;
  readonly roles: readonly Role[] | undefined;
  readonly rule: ReadKind | undefined;
}

const RULE_TEXT: Record<ReadKind, (role: Role) => string> = {
  [ReadKind.DIRECTORY]: () => 'yes',
  [ReadKind.ACCOUNT]: (role) => READ_SCOPE_TEXT[role],
  [ReadKind.TRANSACTION]: (role) => `touching ${READ_SCOPE_TEXT[role]}`,
  [ReadKind.HOLD]: (role) => `from or to ${READ_SCOPE_TEXT[role]}`,
  [ReadKind.EXCHANGE]: (role) => `provider or receiver in ${READ_SCOPE_TEXT[role]}`,
  [ReadKind.AUDIT]: (role) => (role === Role.ADMIN || role === Role.AUDITOR ? 'yes' : 'null'),
};

/**
 * The methods a resolver has, its own and those it inherits (a resolver may extend an abstract
 * one, as the offers' and requests' do), each name once.
 */
function methodNames(prototype: object): Set<string> {
  const names = new Set<string>();
  for (let level: object | null = prototype; level && level !== Object.prototype; level = Object.getPrototypeOf(level) as object | null) {
    for (const key of Object.getOwnPropertyNames(level)) if (key !== 'constructor') names.add(key);
  }
  return names;
}

function entries(): Entry[] {
  const found: Entry[] = [];
  for (const resolver of ALL_RESOLVERS) {
    const typeName = Reflect.getMetadata('graphql:resolver_name', resolver) as string | undefined;
    const prototype = resolver.prototype as Record<string, unknown>;
    for (const key of methodNames(prototype)) {
      const method = prototype[key];
      if (typeof method !== 'function') continue;
      const kind = Reflect.getMetadata('graphql:resolver_type', method) as unknown;
      const isField = Reflect.getMetadata('graphql:resolve_property', method) === true;
      const roles = Reflect.getMetadata(ROLES_KEY, method) as Role[] | undefined;
      const rule = Reflect.getMetadata(READ_RULE_KEY, method) as ReadKind | undefined;
      const name = (Reflect.getMetadata('graphql:resolver_name', method) as string | undefined) ?? key;
      if (kind === 'Query' || kind === 'Mutation' || kind === 'Subscription') found.push({ parent: kind, field: name, roles, rule });
      else if (isField && typeName) found.push({ parent: typeName === 'HelpRequest' ? 'Request' : typeName, field: name, roles, rule });
    }
  }
  return found.sort((a, b) => `${a.parent}.${a.field}`.localeCompare(`${b.parent}.${b.field}`));
}

function returnType(schema: GraphQLSchema, entry: Entry): string {
  const parent = schema.getType(entry.parent);
  const field = isObjectType(parent) ? parent.getFields()[entry.field] : undefined;
  return field ? getNamedType(field.type).name : '?';
}

function table(schema: GraphQLSchema): { text: string; problems: string[] } {
  const all = entries();
  const problems: string[] = [];
  const roots = all.filter((e) => ['Query', 'Mutation', 'Subscription'].includes(e.parent));
  const fields = all.filter((e) => !['Query', 'Mutation', 'Subscription'].includes(e.parent));
  const lines = [
    '### Operations: which roles may call each one',
    '',
    'A role not marked is refused (`FORBIDDEN`) before the resolver runs. Queries are further scoped to what the key may read',
    '(the read rule, below); mutations check what the key may move in the service.',
    '',
    `| operation | ${ALL_ROLES.join(' | ')} | read rule |`,
    `| --- | ${ALL_ROLES.map(() => ':-:').join(' | ')} | --- |`,
  ];
  for (const e of roots) {
    if (!e.roles?.length) problems.push(`${e.parent}.${e.field} has no @Allow: refused to everyone`);
    const marks = ALL_ROLES.map((role) => (e.roles?.includes(role) ? '✓' : ''));
    lines.push(`| ${e.parent === 'Query' ? '' : e.parent.toLowerCase() + ' '}\`${e.field}\` | ${marks.join(' | ')} | ${e.rule ?? ''} |`);
  }
  lines.push(
    '',
    '### Fields: what each role reads through every field that resolves a ledger object',
    '',
    'The same rule applies whether the object is reached by its root query or through another object. A nullable',
    'link to an object the key may not read is `null`; a non-null one is `FORBIDDEN`.',
    '',
    `| field | returns | rule | ${ALL_ROLES.join(' | ')} |`,
    `| --- | --- | --- | ${ALL_ROLES.map(() => '---').join(' | ')} |`,
  );
  for (const e of fields) {
    const type = returnType(schema, e);
    if (!e.rule) {
      if (GUARDED_TYPES.has(e.parent) || GUARDED_TYPES.has(type)) problems.push(`${e.parent}.${e.field} declares no @ReadRule`);
      continue;
    }
    const rule = e.rule;
    lines.push(`| \`${e.parent}.${e.field}\` | ${type} | ${rule} | ${ALL_ROLES.map((role) => RULE_TEXT[rule](role)).join(' | ')} |`);
  }
  lines.push(
    '',
    '### Plain lists: the bound each counts at in the cost of a query',
    '',
    '| field | counted as |',
    '| --- | --- |',
    ...Object.entries(PLAIN_LIST_BOUNDS).map(([field, bound]) => `| \`${field}\` | ${bound} items |`),
  );
  return { text: lines.join('\n'), problems };
}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, { logger: false });
  const schema = await app.get(GraphQLSchemaFactory).create(ALL_RESOLVERS, { scalarsMap: SCALARS_MAP });
  await app.close();
  const { text, problems } = table(schema);
  if (problems.length > 0) {
    process.stderr.write(`Read rules are incomplete:\n  ${problems.join('\n  ')}\n`);
    process.exit(1);
  }
  const file = join(projectRoot(), 'docs/security.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/security.md lacks the markers ${BEGIN} … ${END}`);
  const updated = `${doc.slice(0, start + BEGIN.length)}\n${text}\n${doc.slice(end)}`;
  if (process.argv.includes('--check')) {
    if (updated !== doc) {
      process.stderr.write(
        'docs/security.md is stale: who may read or do what changed. Run `npm run security:table` and review the diff.\n',
      );
      process.exit(1);
    }
    process.stdout.write('docs/security.md is up to date.\n');
    return;
  }
  writeFileSync(file, updated);
  process.stdout.write(`Wrote ${file}\n`);
}

void main();
