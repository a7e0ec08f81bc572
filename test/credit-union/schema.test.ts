import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, type GraphQLInputObjectType } from 'graphql';

const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));

function signature(type: 'Query' | 'Mutation', name: string): string | undefined {
  const field = (type === 'Query' ? schema.getQueryType() : schema.getMutationType())?.getFields()[name];
  if (!field) return undefined;
  return `${field.args.map((a) => `${a.name}: ${String(a.type)}`).join(', ')} -> ${String(field.type)}`;
}

function inputFields(name: string): string {
  const type = schema.getType(name) as GraphQLInputObjectType;
  return Object.values(type.getFields())
    .map((f) => `${f.name}: ${String(f.type)}`)
    .join(', ');
}

describe('the credit-union operations in schema.graphql', () => {
  it('have the signatures pinned by SPEC Appendix A', () => {
    expect(signature('Mutation', 'recordDeposit')).toBe(
      'accountId: ID!, amount: Amount!, externalRef: String!, idempotencyKey: String! -> Transaction!',
    );
    expect(signature('Mutation', 'recordWithdrawal')).toBe(
      'accountId: ID!, amount: Amount!, externalRef: String!, idempotencyKey: String! -> Transaction!',
    );
    expect(signature('Mutation', 'recordDeposits')).toBe('batch: [DepositInput!]! -> [Transaction!]!');
    expect(signature('Mutation', 'distribute')).toBe(
      'fromAccountId: ID!, amount: Amount!, shares: [ShareInput!]!, memo: String, idempotencyKey: String! -> Transaction!',
    );
    expect(signature('Query', 'reconciliation')).toBe('currency: String!, reserve: Amount! -> Reconciliation!');
    expect(inputFields('DepositInput')).toBe('accountId: ID!, amount: Amount!, externalRef: String!, idempotencyKey: String!');
    expect(inputFields('ShareInput')).toBe('accountId: ID!, weight: Int!');
  });

  it('give Reconciliation the fields of Appendix A', () => {
    const fields = schema.getType('Reconciliation')?.toConfig() as { fields: Record<string, { type: unknown }> };
    const typed = Object.fromEntries(Object.entries(fields.fields).map(([name, f]) => [name, String(f.type)]));
    expect(typed).toMatchObject({
      currency: 'Currency!',
      circulation: 'Amount!',
      reserve: 'Amount!',
      difference: 'Amount!',
      balanced: 'Boolean!',
    });
  });
});
