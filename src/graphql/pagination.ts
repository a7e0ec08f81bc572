import { type Type } from '@nestjs/common';
import { ArgsType, Field, Int, ObjectType } from '@nestjs/graphql';
import { validationFailed } from '../common/domain-error';

/**
 * The one pagination helper: Relay-style connections over keyset pagination. A cursor is the
 * opaque encoding of the sort key of the last row seen, so pages stay stable while new rows
 * arrive. `first` is at most 500.
 */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `At most ${MAX_PAGE}; ${DEFAULT_PAGE} when omitted.` })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  node: T;
  cursor: string;
}

export interface ConnectionShape<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw validationFailed('first', `must be between 1 and ${MAX_PAGE}`);
  return first;
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decodes a cursor made by `encodeCursor`, checking each part against the expected shape. */
export function decodeCursor(cursor: string | null | undefined, shape: readonly ('string' | 'number')[]): (string | number)[] | null {
  if (cursor === null || cursor === undefined) return null;
  const bad = validationFailed('after', 'not a cursor returned by this list');
  if (cursor.length > 200) throw bad;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length) throw bad;
  parsed.forEach((part, i) => {
    if (typeof part !== shape[i]) throw bad;
  });
  return parsed as (string | number)[];
}

/**
 * Builds a page from `rows` fetched with LIMIT size + 1: the extra row only says whether there
 * is a next page.
 */
export function toConnection<R, T>(
  rows: readonly R[],
  size: number,
  toNode: (row: R) => T,
  keyOf: (row: R) => (string | number)[],
): ConnectionShape<T> {
  const page = rows.slice(0, size);
  const edges = page.map((row) => ({ node: toNode(row), cursor: encodeCursor(keyOf(row)) }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** A cursor part holding a BIGINT sequence, as decimal text (exchanges, listings, transactions). */
export function sequenceCursor(text: string): string {
  if (!/^\d{1,19}$/.test(text)) throw validationFailed('after', 'not a cursor returned by this list');
  return text;
}

/** How one list pages: its cursor's shape, where a cursor starts the query, the query, the key of a row. */
export interface PageRecipe<R, A> {
  /** The types of the cursor's parts, checked when decoding `after`. */
  readonly cursor: readonly ('string' | 'number')[];
  /** The query's starting point from a decoded cursor (checking what the shape cannot: an id, a number). */
  readonly from: (parts: (string | number)[]) => A;
  /** The rows after `after` (null: the first page), at most `limit` of them. */
  readonly fetch: (after: A | null, limit: number) => Promise<readonly R[]>;
  /** The sort key of a row: its cursor's parts. */
  readonly keyOf: (row: R) => (string | number)[];
}

/**
 * The one recipe for a list as a connection: checks `first`, decodes `after`, fetches one row
 * more than the page (that row only says there is a next page) and builds the edges. Lists
 * whose cursor also carries a report's window (statements, activity) use `toConnection` directly.
 */
export async function paginate<R, A>(
  args: { first?: number | null; after?: string | null },
  recipe: PageRecipe<R, A>,
): Promise<ConnectionShape<R>> {
  const size = pageSize(args.first);
  const cursor = decodeCursor(args.after, recipe.cursor);
  const rows = await recipe.fetch(cursor ? recipe.from(cursor) : null, size + 1);
  return toConnection(rows, size, (row) => row, recipe.keyOf);
}

/** The same page with each node turned into another shape (a record into its GraphQL model). */
export function mapNodes<R, T>(connection: ConnectionShape<R>, toNode: (node: R) => T): ConnectionShape<T> {
  return { edges: connection.edges.map((edge) => ({ node: toNode(edge.node), cursor: edge.cursor })), pageInfo: connection.pageInfo };
}

/** Declares `XConnection` and `XEdge` object types for a node type. */
export function Connection<T>(node: Type<T>, name: string): Type<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field(() => node)
    node!: T;

    @Field()
    cursor!: string;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}
