import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { validationFailed } from '../../common/domain-error';
import { isWellFormedText } from '../../common/text';

/** Bounds on caller-supplied JSON (transaction metadata): small and shallow. */
export const MAX_JSON_BYTES = 8192;
export const MAX_JSON_DEPTH = 6;

/** Nesting depth, looking no deeper than the limit (so hostile nesting costs nothing). */
function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_JSON_DEPTH || value === null || typeof value !== 'object') return depth;
  let deepest = depth + 1;
  for (const child of Array.isArray(value) ? value : Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, depthOf(child, depth + 1));
    if (deepest > MAX_JSON_DEPTH) break;
  }
  return deepest;
}

/** Whether every string of a JSON value (keys included) passes `ok`; depth is already bounded. */
function everyString(value: unknown, ok: (text: string) => boolean): boolean {
  if (typeof value === 'string') return ok(value);
  if (Array.isArray(value)) return value.every((v) => everyString(v, ok));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).every(([k, v]) => ok(k) && everyString(v, ok));
  }
  return true;
}

function checked(value: unknown): unknown {
  if (depthOf(value) > MAX_JSON_DEPTH) throw validationFailed('metadata', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  const text = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(text) > MAX_JSON_BYTES) {
    throw validationFailed('metadata', `larger than ${MAX_JSON_BYTES} bytes`);
  }
  // PostgreSQL's jsonb cannot hold the NUL character, in keys or in values; see also common/text.ts.
  if (!everyString(value, (s) => !s.includes('\u0000') && isWellFormedText(s))) {
    throw validationFailed('metadata', 'must be valid Unicode text without the NUL character');
  }
  return value;
}

function literal(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literal(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    case Kind.ENUM:
      return ast.value;
  }
}

export const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: `Any JSON value, at most ${MAX_JSON_BYTES} bytes and ${MAX_JSON_DEPTH} levels deep.`,
  serialize: (value) => value,
  parseValue: checked,
  parseLiteral: (ast, variables) => checked(literal(ast, variables)),
});
