import type { ApolloDriverConfig } from '@nestjs/apollo';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { DomainError, ErrorCode } from '../common/domain-error';
import { DEFAULT_PAGE, MAX_PAGE } from './pagination';

/**
 * Depth and cost limits of one GraphQL operation (SPEC section 6: QUERY_TOO_COMPLEX).
 *
 * The cost model counts the objects a response may hold:
 * - a field with a selection (an object) costs 1, a scalar or enum field costs 0, unless the
 *   field declares its own cost (`@Field({ complexity: n })`, `@Query(..., { complexity: n })`);
 * - a field with a `first` argument multiplies the cost of its selection by `first` (50 when
 *   omitted, 500 at most, since larger pages are refused anyway);
 * - a list field without `first` multiplies by 2 (postings of a transaction, lines of a small
 *   report), except directly under a paginated field (`edges`), which is already counted.
 *
 * Variables are known here (the check runs once the operation is resolved, before execution),
 * so `first: $n` counts as the page actually asked for. The walk stops as soon as a limit is
 * exceeded, and counts the selections it visits, so a document whose fragments fan out
 * exponentially is refused without being expanded.
 */
export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  /** Selections visited at most; the token limit bounds a document without fragments the same way. */
  readonly maxVisits: number;
}

export interface QueryMeasure {
  readonly depth: number;
  readonly cost: number;
}

const UNPAGED_LIST_FACTOR = 2;

function tooComplex(message: string, extra: Record<string, unknown>): DomainError {
  return new DomainError(ErrorCode.QUERY_TOO_COMPLEX, message, undefined, extra);
}

class Measurer {
  private visits = 0;
  private deepest = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Readonly<Record<string, unknown>>,
    private readonly limits: QueryLimits,
  ) {}

  measure(operation: OperationDefinitionNode): QueryMeasure {
    const root = this.schema.getRootType(operation.operation);
    if (!root) return { depth: 0, cost: 0 };
    const cost = this.selections(operation.selectionSet, root, 1, this.limits.maxCost, false);
    return { depth: this.deepest, cost };
  }

  /** The cost of a selection set, refusing as soon as it exceeds `budget`. */
  private selections(set: SelectionSetNode, parent: GraphQLNamedType, depth: number, budget: number, inPage: boolean): number {
    let total = 0;
    for (const selection of set.selections) {
      if (++this.visits > this.limits.maxVisits) {
        throw tooComplex(`The query has more than ${this.limits.maxVisits} selections once its fragments are expanded`, {
          maxSelections: this.limits.maxVisits,
        });
      }
      if (selection.kind === Kind.FIELD) {
        total += this.field(selection, parent, depth, budget - total, inPage);
      } else {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? this.fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        const condition = fragment.typeCondition ? this.schema.getType(fragment.typeCondition.name.value) : parent;
        total += this.selections(fragment.selectionSet, condition ?? parent, depth, budget - total, inPage);
      }
      if (total > budget) throw this.overBudget();
    }
    return total;
  }

  private field(node: FieldNode, parent: GraphQLNamedType, depth: number, budget: number, inPage: boolean): number {
    // __typename is free; __schema and __type are governed by GRAPHQL_INTROSPECTION instead.
    if (node.name.value.startsWith('__')) return 0;
    if (depth > this.limits.maxDepth) {
      throw tooComplex(`The query is nested more than ${this.limits.maxDepth} levels deep`, { maxDepth: this.limits.maxDepth });
    }
    this.deepest = Math.max(this.deepest, depth);
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!definition) return 0; // validation has already refused unknown fields
    const declared = definition.extensions?.complexity;
    const base = typeof declared === 'number' ? declared : node.selectionSet ? 1 : 0;
    if (!node.selectionSet) return base;
    const paginated = definition.args.some((arg) => arg.name === 'first');
    const multiplier = paginated ? this.pageSize(node) : isListType(getNullableType(definition.type)) && !inPage ? UNPAGED_LIST_FACTOR : 1;
    const children = this.selections(node.selectionSet, getNamedType(definition.type), depth + 1, (budget - base) / multiplier, paginated);
    return base + multiplier * children;
  }

  /** The page a `first` argument asks for, from a literal or a variable. */
  private pageSize(node: FieldNode): number {
    const argument = node.arguments?.find((arg) => arg.name.value === 'first');
    let value: unknown = undefined;
    if (argument?.value.kind === Kind.INT) value = Number(argument.value.value);
    else if (argument?.value.kind === Kind.VARIABLE) value = this.variables[argument.value.name.value];
    if (typeof value !== 'number' || !Number.isInteger(value)) return DEFAULT_PAGE;
    return Math.min(Math.max(value, 1), MAX_PAGE);
  }

  private overBudget(): DomainError {
    return tooComplex(`The query could return more than ${this.limits.maxCost} objects; ask for smaller pages or fewer nested fields`, {
      maxComplexity: this.limits.maxCost,
    });
  }
}

/** Measures `operation`; throws QUERY_TOO_COMPLEX when it breaks a limit. */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: QueryLimits,
): QueryMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return new Measurer(schema, fragments, variables ?? {}, limits).measure(operation);
}

/**
 * Applies the limits to every operation once Apollo has parsed, validated and resolved it.
 * A refusal is a 400 with code QUERY_TOO_COMPLEX (errors raised here would otherwise be 500s).
 */
export type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

export function queryCostPlugin(limits: QueryLimits): ApolloPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return Promise.resolve();
          try {
            measureOperation(schema, document, operation, request.variables, limits);
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            throw new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 400 } } });
          }
          return Promise.resolve();
        },
      });
    },
  };
}
