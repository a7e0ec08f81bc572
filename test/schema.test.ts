import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClientSchema, buildSchema, getIntrospectionQuery, lexicographicSortSchema, printSchema } from 'graphql';
import { startLedger, type TestLedger } from './support/ledger';

const APPENDIX_A_OPERATIONS = {
  Query: ['me', 'party', 'parties', 'currency', 'currencies', 'account', 'accounts', 'transaction', 'transactions', 'verifyLedger'],
  Mutation: [
    'registerParty',
    'createCurrency',
    'openAccount',
    'setCreditLimit',
    'freezeAccount',
    'unfreezeAccount',
    'closeAccount',
    'transfer',
    'postTransaction',
    'reverseTransaction',
    'createApiKey',
    'revokeApiKey',
  ],
};

describe('the committed schema.graphql', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger();
  });
  afterAll(async () => ledger.stop());

  it('is exactly the schema the running service serves', async () => {
    const { data } = await ledger.admin.request(getIntrospectionQuery());
    const served = printSchema(lexicographicSortSchema(buildClientSchema(data)));
    const committed = printSchema(lexicographicSortSchema(buildSchema(readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8'))));
    expect(served).toBe(committed);
  });

  it('has the core operations of SPEC Appendix A with their pinned signatures', () => {
    const schema = buildSchema(readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8'));
    const signature = (type: 'Query' | 'Mutation', name: string) => {
      const field = schema.getType(type)?.toConfig() as {
        fields: Record<string, { type: unknown; args?: Record<string, { type: unknown }> }>;
      };
      const f = field.fields[name];
      if (!f) return undefined;
      return `${Object.entries(f.args ?? {})
        .map(([arg, a]) => `${arg}: ${String(a.type)}`)
        .join(', ')} -> ${String(f.type)}`;
    };
    for (const [type, names] of Object.entries(APPENDIX_A_OPERATIONS) as ['Query' | 'Mutation', string[]][]) {
      for (const name of names) expect([name, signature(type, name)]).not.toEqual([name, undefined]);
    }
    expect(signature('Mutation', 'transfer')).toBe(
      'from: ID!, to: ID!, amount: Amount!, memo: String, idempotencyKey: String! -> Transaction!',
    );
    expect(signature('Mutation', 'postTransaction')).toBe(
      'postings: [PostingInput!]!, kind: TransactionKind!, memo: String, metadata: JSON, externalRef: String, idempotencyKey: String! -> Transaction!',
    );
    expect(signature('Mutation', 'reverseTransaction')).toBe('id: ID!, reason: String!, idempotencyKey: String! -> Transaction!');
    expect(signature('Mutation', 'openAccount')).toBe(
      // SPEC B.4 added maxBalance.
      'partyId: ID!, currency: String!, creditLimit: Amount, unlimited: Boolean, maxBalance: Amount -> Account!',
    );
    expect(signature('Mutation', 'createCurrency')).toBe(
      // SPEC B.4 added the defaults.
      'code: String!, name: String!, kind: CurrencyKind!, scale: Int!, issuerPartyId: ID, defaultCreditLimit: Amount, defaultMaxBalance: Amount -> Currency!',
    );
    expect(signature('Mutation', 'createApiKey')).toBe(
      // SPEC B.3 added the network and deployment admins.
      'partyId: ID, role: Role!, label: String, networkId: ID, deploymentAdmin: Boolean -> ApiKeySecret!',
    );
    expect(signature('Query', 'transactions')).toBe(
      'accountId: ID, kind: TransactionKind, from: DateTime, to: DateTime, first: Int, after: String -> TransactionConnection!',
    );
    expect(signature('Query', 'networks')).toBe(' -> [Network!]!');
    // SPEC B.1 and B.2: a provider withdraws its pending claim, idempotently.
    expect(signature('Mutation', 'withdrawExchange')).toBe('id: ID!, idempotencyKey: String -> Exchange!');
    expect(signature('Mutation', 'createNetwork')).toBe('slug: String!, name: String! -> Network!');
    expect(signature('Query', 'parties')).toBe('kind: PartyKind, first: Int, after: String -> PartyConnection!');
    expect(signature('Query', 'accounts')).toBe('partyId: ID, currency: String, first: Int, after: String -> AccountConnection!');
    expect(signature('Query', 'verifyLedger')).toBe('throughHash: String -> LedgerVerification!');
    expect(signature('Mutation', 'setMaxBalance')).toBe('accountId: ID!, maxBalance: Amount -> Account!');
    expect(signature('Mutation', 'setCurrencyDefaults')).toBe(
      'code: String!, defaultCreditLimit: Amount, defaultMaxBalance: Amount -> Currency!',
    );
  });
});
