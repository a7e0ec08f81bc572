import type { ApolloDriverConfig } from '@nestjs/apollo';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  type SelectionSetNode,
} from 'graphql';
import { DomainError, ErrorCode } from '../common/domain-error';
import { DEFAULT_PAGE, MAX_PAGE } from './pagination';

/**
 * Depth and cost limits of one GraphQL operation (SPEC section 6 and B.1: QUERY_TOO_COMPLEX).
 *
 * The cost model counts the objects a response may hold, and the work behind them:
 * - a field with a selection (an object) costs 1, a scalar or enum field costs 0, unless this
 *   file declares its cost (FIELD_COSTS: every field that reads history, whatever it returns);
 * - `verifyLedger` and `exportJournal` read the whole ledger: at most once per operation
 *   (ONCE_PER_OPERATION), aliases and fragments included;
 * - a field with a `first` argument multiplies the cost of its selection by `first` (the page it
 *   returns: 50 when omitted, 500 at most, since larger pages are refused anyway);
 * - a plain list multiplies by the bound declared for it (PLAIN_LIST_BOUNDS, published in
 *   docs/security.md), or by UNPAGED_LIST_FACTOR for short lists without one; directly under a
 *   paginated field (`edges`) a list is already counted.
 *
 * Variables are known here (the check runs once the operation is resolved, before execution),
 * so `first: $n` counts as the page actually asked for, or as the variable's default. The walk
 * stops as soon as a limit is exceeded, and counts the selections it visits, so a document whose
 * fragments fan out exponentially is refused without being expanded. Its result is cached per
 * parsed document (Apollo parses a query text once), per operation name and per the values of
 * the variables it read, so a hot query is measured once.
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

/**
 * A mutation answers with what it has just written, so its answer is bounded by its input (a
 * deposit batch holds at most 1,000 items) rather than by history. It gets this many times the
 * read budget, so a credit union can read back a full batch with its postings and accounts
 * (1,000 × (1 + 10 × 2) = 21,000), while reads keep the plain limit.
 */
export const MUTATION_BUDGET_FACTOR = 5;

/** Fields that read history or do work beyond returning an object: their cost, besides their selection. */
export const FIELD_COSTS: Readonly<Record<string, number>> = {
  'Query.balanceAt': 20,
  'Query.statement': 50,
  'Query.trialBalance': 200,
  'Query.activity': 200,
  'Query.transactions': 10,
  'Query.reconciliation': 20,
  'Query.holds': 5,
  'Query.exchanges': 5,
  'Query.pendingClaims': 5,
  'Query.verifyLedger': 1000,
  'Query.exportJournal': 1000,
  'Transaction.reversedBy': 2,
};

/** Fields that read the whole ledger: once per operation at most. */
export const ONCE_PER_OPERATION: ReadonlySet<string> = new Set(['Query.verifyLedger', 'Query.exportJournal']);

/**
 * Lists without `first`, counted at this many items. Not the largest list possible (a
 * distribution may post 1001 postings): the size a query is charged for, so that a page of
 * transactions with their postings stays affordable while a page of large lists is not free.
 */
export const PLAIN_LIST_BOUNDS: Readonly<Record<string, number>> = {
  'Transaction.postings': 10,
  'TrialBalance.lines': 1000,
  'Query.currencies': 100,
  'Query.networks': 100,
  'Query.webhooks': 100,
  'Mutation.recordDeposits': 1000,
};

function tooComplex(message: string, extra: Record<string, unknown>): DomainError {
  return new DomainError(ErrorCode.QUERY_TOO_COMPLEX, message, undefined, extra);
}

class Measurer {
  private visits = 0;
  private deepest = 0;
  private readonly once = new Set<string>();
  private budget = 0;
  /** Variables whose values the cost depends on (`first: $n`): part of the cache key. */
  readonly read = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Readonly<Record<string, unknown>>,
    private readonly defaults: ReadonlyMap<string, unknown>,
    private readonly limits: QueryLimits,
  ) {}

  measure(operation: OperationDefinitionNode): QueryMeasure {
    const root = this.schema.getRootType(operation.operation);
    if (!root) return { depth: 0, cost: 0 };
    this.budget = operation.operation === OperationTypeNode.MUTATION ? this.limits.maxCost * MUTATION_BUDGET_FACTOR : this.limits.maxCost;
    const cost = this.selections(operation.selectionSet, root, 1, this.budget, false);
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
    const name = `${parent.name}.${definition.name}`;
    this.countOnce(name);
    const declared = FIELD_COSTS[name];
    const base = (declared ?? 0) + (node.selectionSet ? 1 : 0);
    if (!node.selectionSet) return base;
    const paginated = definition.args.some((arg) => arg.name === 'first');
    const multiplier = paginated ? this.pageSize(node) : this.listBound(name, definition.type, inPage);
    const children = this.selections(node.selectionSet, getNamedType(definition.type), depth + 1, (budget - base) / multiplier, paginated);
    return base + multiplier * children;
  }

  private countOnce(name: string): void {
    if (!ONCE_PER_OPERATION.has(name)) return;
    if (this.once.has(name)) {
      const field = name.slice(name.indexOf('.') + 1);
      throw tooComplex(`${field} may be asked for at most once per operation`, { field });
    }
    this.once.add(name);
  }

  private listBound(name: string, type: GraphQLOutputType, inPage: boolean): number {
    if (!isListType(getNullableType(type)) || inPage) return 1;
    return PLAIN_LIST_BOUNDS[name] ?? UNPAGED_LIST_FACTOR;
  }

  /** The page a `first` argument asks for, from a literal, a variable, or the variable's default. */
  private pageSize(node: FieldNode): number {
    const argument = node.arguments?.find((arg) => arg.name.value === 'first');
    let value: unknown = undefined;
    if (argument?.value.kind === Kind.INT) value = Number(argument.value.value);
    else if (argument?.value.kind === Kind.VARIABLE) {
      const variable = argument.value.name.value;
      this.read.add(variable);
      value = this.variables[variable] === undefined ? this.defaults.get(variable) : this.variables[variable];
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) return DEFAULT_PAGE;
    return Math.min(Math.max(value, 1), MAX_PAGE);
  }

  private overBudget(): DomainError {
    return tooComplex(`The query could return more than ${this.budget} objects; ask for smaller pages or fewer nested fields`, {
      maxComplexity: this.budget,
    });
  }
}

/** Default values of an operation's variables that are plain integers (the only ones a page size reads). */
function variableDefaults(operation: OperationDefinitionNode): Map<string, unknown> {
  const defaults = new Map<string, unknown>();
  for (const definition of operation.variableDefinitions ?? []) {
    const value = definition.defaultValue;
    if (value?.kind === Kind.INT) defaults.set(definition.variable.name.value, Number(value.value));
  }
  return defaults;
}

type Measured = { readonly ok: QueryMeasure } | { readonly refused: DomainError };
interface CachedOperation {
  readonly read: readonly string[];
  readonly byValues: Map<string, Measured>;
}

/** Per parsed document, per operation: which variables the cost read, and the result per their values. */
const measured = new WeakMap<DocumentNode, Map<OperationDefinitionNode, CachedOperation>>();
/** Distinct variable values remembered per operation; beyond, the oldest is forgotten. */
const MAX_VALUES_PER_OPERATION = 64;

function valuesKey(read: readonly string[], variables: Readonly<Record<string, unknown>>): string {
  // JSON, not String: `first: "500"` (refused by the resolver, counted as the default page) is not `first: 500`.
  return read.map((name) => JSON.stringify(variables[name]) ?? '-').join(',');
}

function walk(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  limits: QueryLimits,
): { result: Measured; read: readonly string[] } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measurer = new Measurer(schema, fragments, variables, variableDefaults(operation), limits);
  try {
    return { result: { ok: measurer.measure(operation) }, read: [...measurer.read] };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { result: { refused: error }, read: [...measurer.read] };
  }
}

/**
 * Measures `operation`; throws QUERY_TOO_COMPLEX when it breaks a limit. Synchronous, and
 * cached per document object: the hot path of a repeated query is two map lookups.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: QueryLimits,
): QueryMeasure {
  const values = variables ?? {};
  let byOperation = measured.get(document);
  if (!byOperation) {
    byOperation = new Map();
    measured.set(document, byOperation);
  }
  const cached = byOperation.get(operation);
  let result = cached?.byValues.get(valuesKey(cached.read, values));
  if (!result) {
    const fresh = walk(schema, document, operation, values, limits);
    result = fresh.result;
    const entry = cached ?? { read: fresh.read, byValues: new Map<string, Measured>() };
    if (entry.byValues.size >= MAX_VALUES_PER_OPERATION) entry.byValues.delete(entry.byValues.keys().next().value as string);
    entry.byValues.set(valuesKey(entry.read, values), result);
    byOperation.set(operation, entry);
  }
  if ('refused' in result) throw result.refused;
  return result.ok;
}

/**
 * Applies the limits to an operation once it is parsed, validated and resolved, as Apollo's
 * plugin and the direct HTTP path (direct-http.ts) both do. A refusal is a GraphQL error with
 * HTTP status 400 and code QUERY_TOO_COMPLEX (errors raised here would otherwise be 500s).
 */
export function enforceLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: QueryLimits,
): void {
  try {
    measureOperation(schema, document, operation, variables, limits);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 400 } } });
  }
}

export type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

/** Applies the limits to every operation Apollo serves (over HTTP), once it has resolved it. */
export function queryCostPlugin(limits: QueryLimits): ApolloPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ schema, document, operation, request }) {
          if (operation) enforceLimits(schema, document, operation, request.variables, limits);
          return Promise.resolve();
        },
      });
    },
  };
}
