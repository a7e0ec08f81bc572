import { ACCOUNT_STATUSES, CURRENCY_KINDS, HOLD_STATUSES, TRANSACTION_KINDS } from '../../src/ledger/posting/posting.types';
import { type Medium, newMedium } from '../support/medium';

/**
 * Each vocabulary's one list in the code, by the `table.column` whose CHECK constraint lists it.
 * Lists in modules that load Nest (GraphQL enums) are read from the built modules through the
 * medium test layer; the posting module's lists are plain data.
 */
async function vocabularies(medium: Medium): Promise<Record<string, readonly string[]>> {
  const valuesOf = async (module: string, name: string) => Object.values(await medium.exported<Record<string, string>>(module, name));
  return {
    'parties.kind': await valuesOf('ledger/parties/party.model', 'PartyKind'),
    'currencies.kind': CURRENCY_KINDS,
    'accounts.status': ACCOUNT_STATUSES,
    'api_keys.role': await valuesOf('identity/caller', 'Role'),
    'transactions.kind': TRANSACTION_KINDS,
    'holds.status': HOLD_STATUSES,
    'listings.kind': await medium.exported<string[]>('timebank/listings/listing.model', 'LISTING_KINDS'),
    'exchanges.status': await valuesOf('timebank/exchanges/exchange.model', 'ExchangeStatus'),
    'ledger_events.type': await medium.exported<string[]>('ledger/events/ledger-events', 'LEDGER_EVENT_TYPES'),
  };
}

/** CHECK lists with no list in the code yet (written only by SQL); a new one must be added to one of the two maps. */
const ONLY_IN_SQL = new Set(['webhook_deliveries.status']);

/** Every `column IN ('A', ...)` CHECK constraint (a list of names) of the migrated schema, as `table.column` → values (in order). */
async function checkLists(medium: Medium): Promise<Map<string, string[]>> {
  const rows = await medium.sql<{ table: string; definition: string }>(
    `SELECT c.conrelid::regclass::text AS table, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'c' AND n.nspname = 'public'`,
  );
  const lists = new Map<string, string[]>();
  for (const { table, definition } of rows) {
    // PostgreSQL prints `kind IN ('A', 'B')` as `(kind = ANY (ARRAY['A'::text, 'B'::text]))`.
    // Vocabularies are lists of names: a list of numbers (a format version, say) is not one.
    const match = /^CHECK \(\((\w+) = ANY \(ARRAY\[('.*)\]\)\)\)$/.exec(definition);
    if (!match?.[1] || match[2] === undefined) continue;
    lists.set(
      `${table}.${match[1]}`,
      [...match[2].matchAll(/'([^']*)'::text/g)].map((m) => m[1] as string),
    );
  }
  return lists;
}

describe('vocabularies: declared once in the code, equal to the migrations', () => {
  let medium: Medium;
  let lists: Map<string, string[]>;
  let code: Record<string, readonly string[]>;

  beforeAll(async () => {
    medium = await newMedium();
    lists = await checkLists(medium);
    code = await vocabularies(medium);
  });
  afterAll(async () => {
    await medium?.close();
  });

  it('each CHECK list of the schema is its vocabulary in the code, value for value and in order', () => {
    expect(Object.keys(code)).toHaveLength(9);
    for (const [column, values] of Object.entries(code))
      expect({ column, values: lists.get(column) }).toEqual({ column, values: [...values] });
  });

  it('every CHECK list of the schema has its list in the code (or is named as SQL-only)', () => {
    const unknown = [...lists.keys()].filter((column) => !(column in code) && !ONLY_IN_SQL.has(column));
    expect(unknown).toEqual([]);
  });

  it("the GraphQL enums are the posting module's lists, not copies", async () => {
    const valuesOf = async (module: string, name: string) => Object.values(await medium.exported<Record<string, string>>(module, name));
    expect(await valuesOf('ledger/transactions/transaction.model', 'TransactionKind')).toEqual([...TRANSACTION_KINDS]);
    expect(await valuesOf('ledger/holds/hold.model', 'HoldStatus')).toEqual([...HOLD_STATUSES]);
    expect(await valuesOf('ledger/accounts/account.model', 'AccountStatus')).toEqual([...ACCOUNT_STATUSES]);
    expect(await valuesOf('ledger/currencies/currency.model', 'CurrencyKind')).toEqual([...CURRENCY_KINDS]);
  });
});
