import type { ModuleRef } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import type { GraphQLFieldResolver, GraphQLSchema } from 'graphql';

/**
 * Makes graphql-js call `resolve` for a root field itself, instead of the resolver that
 * @nestjs/graphql built for it. Nest calls a root field's method through its per-call pipeline
 * (the global guard through an execution context, parameter decorators, pipes, interceptors,
 * exception filters, and promise wrapping), which on `transfer`, the hottest mutation, cost more
 * than its own checks. A field resolved here gets none of that: `resolve` must authorize the
 * caller itself (`AuthGuard.authorize`, with the roles its method declares) and throw the
 * errors the guard and the service throw; the Nest method stays declared, so the schema, its
 * `@Allow` roles and its documentation are where they always were.
 *
 * Runs once the application has started (`onApplicationBootstrap`): the schema object is the
 * one Apollo and graphql-ws execute, and graphql-js reads a field's resolver on every execution.
 */
export function resolveDirectly<TContext>(
  schema: GraphQLSchema,
  type: 'Query' | 'Mutation',
  fieldName: string,
  resolve: GraphQLFieldResolver<unknown, TContext>,
): void {
  const root = type === 'Query' ? schema.getQueryType() : schema.getMutationType();
  const field = root?.getFields()[fieldName];
  if (!field) throw new Error(`${type}.${fieldName} is not in the schema`);
  field.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
}

/**
 * The schema that Apollo and graphql-ws execute (GraphQLModule, imported by AppModule), or
 * undefined in an application context without GraphQL (the services' own tests, scripts).
 */
export function graphqlSchema(moduleRef: ModuleRef): GraphQLSchema | undefined {
  let host: GraphQLSchemaHost;
  try {
    host = moduleRef.get(GraphQLSchemaHost, { strict: false });
  } catch {
    return undefined;
  }
  return host.schema;
}
