import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { validationFailed } from '../../common/domain-error';

/** Bounds on caller-supplied JSON (transaction metadata): small and shallow. */
export const MAX_JSON_BYTES = 8192;
export const MAX_JSON_DEPTH = 6;

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_JSON_DEPTH) return depth;
  if (Array.isArray(value)) return Math.max(depth + 1, ...value.map((v) => depthOf(v, depth + 1)));
  if (value !== null && typeof value === 'object') {
    return Math.max(depth + 1, ...Object.values(value as Record<string, unknown>).map((v) => depthOf(v, depth + 1)));
  }
  return depth;
}

function checked(value: unknown): unknown {
  if (depthOf(value) > MAX_JSON_DEPTH) throw validationFailed('metadata', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Buffer.byteLength(JSON.stringify(value) ?? 'null') > MAX_JSON_BYTES) {
    throw validationFailed('metadata', `larger than ${MAX_JSON_BYTES} bytes`);
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
