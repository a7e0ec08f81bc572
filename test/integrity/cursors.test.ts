import type { Caller } from '../../src/identity/caller';
import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import type { AccountService } from '../../src/ledger/accounts/account.service';
import type { CurrencyService } from '../../src/ledger/currencies/currency.service';
import type { HoldRecord } from '../../src/ledger/holds/hold.record';
import type { HoldService } from '../../src/ledger/holds/hold.service';
import type { PartyKind } from '../../src/ledger/parties/party.model';
import type { PartyService } from '../../src/ledger/parties/party.service';
import type { PostingService } from '../../src/ledger/posting/posting.service';
import type { ConnectionShape } from '../../src/graphql/pagination';
import { issuanceAccount } from '../credit-union/support';
import type { GqlClient } from '../support/graphql';
import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { type Medium, newMedium } from '../support/medium';
import { newMember } from '../timebank/helpers';

interface Page {
  edges: { node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Reads a whole list one row per page, following endCursor; `pageOf` picks the connection from an answer. */
async function walk(
  client: GqlClient,
  query: string,
  variables: Record<string, unknown>,
  pageOf: (data: never) => Page,
): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = pageOf(await client.ok<never>(query, { ...variables, first: 1, after }));
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
  throw new Error('the list never ended');
}

const STATEMENT = `query($a: ID!, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  statement(accountId: $a, from: $from, to: $to, first: $first, after: $after) {
    entries { edges { node { transaction { id } } } pageInfo { hasNextPage endCursor } } } }`;

/** A statement's entries as a page of transaction ids. */
function entriesOf(d: {
  statement: { entries: { edges: { node: { transaction: { id: string } } }[]; pageInfo: Page['pageInfo'] } };
}): Page {
  return { edges: d.statement.entries.edges.map((e) => ({ node: { id: e.node.transaction.id } })), pageInfo: d.statement.entries.pageInfo };
}

/** The millisecond of an instant's text (what a JavaScript Date would keep of it). */
const millisecondOf = (iso: string) => iso.slice(0, 23);

/**
 * Posting times carry microseconds (SPEC B.2), and a posting group dates its transactions one
 * microsecond apart: many rows share a millisecond. Every list ordered in time must page through
 * them, one row per page, without skipping or repeating one, and a period bounded by one of
 * those instants must start and end exactly there (a bound or cursor cut to the millisecond
 * would take in or drop its neighbours).
 */
describe('lists paged one row at a time over rows posted within one millisecond', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let saver: string;
  let other: string;
  /** The deposits of one batch (one posting group), in posting order. */
  let posted: { id: string; postedAt: string; accountId: string }[];

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    const union = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    await createCurrency(admin, 'MKE', 'MONEY', 2, union);
    await issuanceAccount(admin, union, 'MKE');
    saver = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Sam'), 'MKE');
    other = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Oda'), 'MKE');
    const integration = ledger.client(await createKey(admin, 'INTEGRATION', union));
    const batch = [saver, saver, other, saver, saver, other, saver, saver].map((accountId, i) => ({
      accountId,
      amount: `${i + 1}.00`,
      externalRef: `ms-${i}`,
      idempotencyKey: `ms-${i}`,
    }));
    const data = await integration.ok<{ recordDeposits: { id: string; postedAt: string }[] }>(
      'mutation($batch: [DepositInput!]!) { recordDeposits(batch: $batch) { id postedAt } }',
      { batch },
    );
    posted = data.recordDeposits.map((t, i) => ({ ...t, accountId: batch[i]?.accountId as string }));
  });
  afterAll(async () => ledger?.stop());

  it('the batch really lies within a millisecond or two, each transaction a microsecond after the one before', () => {
    expect(posted).toHaveLength(8);
    const milliseconds = new Set(posted.map((t) => millisecondOf(t.postedAt)));
    // Eight consecutive microseconds cross at most one millisecond boundary.
    expect(milliseconds.size).toBeLessThanOrEqual(2);
    for (const t of posted) expect(t.postedAt).toMatch(/\.\d{6}Z$/);
  });

  it('transactions, of the network and of one account, one per page: each once, in posting order', async () => {
    const all = await walk(
      admin,
      'query($first: Int, $after: String) { transactions(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
      {},
      (d: { transactions: Page }) => d.transactions,
    );
    expect(all).toEqual(posted.map((t) => t.id));
    const mine = await walk(
      admin,
      `query($a: ID!, $first: Int, $after: String) {
         transactions(accountId: $a, first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
      { a: saver },
      (d: { transactions: Page }) => d.transactions,
    );
    expect(mine).toEqual(posted.filter((t) => t.accountId === saver).map((t) => t.id));
  });

  it('a statement, one entry per page: each once, in posting order', async () => {
    const entries = await walk(admin, STATEMENT, { a: saver, from: null, to: null }, entriesOf);
    expect(entries).toEqual(posted.filter((t) => t.accountId === saver).map((t) => t.id));
  });

  it('a period that starts or ends at one of those instants starts or ends exactly there', async () => {
    // Two neighbours within the same millisecond: a bound cut to the millisecond would move past one of them.
    const index = posted.findIndex((t, i) => i > 0 && millisecondOf(t.postedAt) === millisecondOf(posted[i - 1]?.postedAt ?? ''));
    expect(index).toBeGreaterThan(0);
    const at = posted[index]?.postedAt as string;
    const later = posted.slice(index).map((t) => t.id);
    const earlier = posted.slice(0, index).map((t) => t.id);
    const period = `query($from: DateTime, $to: DateTime, $first: Int, $after: String) {
      transactions(from: $from, to: $to, first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
    const pageOf = (d: { transactions: Page }) => d.transactions;
    expect(await walk(admin, period, { from: at, to: null }, pageOf)).toEqual(later);
    expect(await walk(admin, period, { from: null, to: at }, pageOf)).toEqual(earlier);

    // A period between two of them, shorter than a millisecond, is a period (not "to before from").
    const previous = posted[index - 1]?.postedAt as string;
    expect(await walk(admin, period, { from: previous, to: at }, pageOf)).toEqual([posted[index - 1]?.id]);
    const activity = await admin.ok<{ activity: { totals: { transactions: number } } }>(
      'query($from: DateTime!, $to: DateTime!) { activity(currency: "MKE", from: $from, to: $to) { totals { transactions } } }',
      { from: previous, to: at },
    );
    expect(activity.activity.totals.transactions).toBe(1);

    const account = posted[index]?.accountId as string;
    const ofAccount = (ids: string[]) => ids.filter((id) => posted.find((t) => t.id === id)?.accountId === account);
    expect(await walk(admin, STATEMENT, { a: account, from: at, to: null }, entriesOf)).toEqual(ofAccount(later));
    expect(await walk(admin, STATEMENT, { a: account, from: null, to: at }, entriesOf)).toEqual(ofAccount(earlier));
  });

  it('exchanges and holds of an account, one per page: each once, oldest first', async () => {
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const giver = await newMember(admin, 'Gia');
    const taker = await newMember(admin, 'Tom', { creditLimit: '100' });
    const receiver = ledger.client(taker.key);
    const exchanges = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        receiver.ok<{ recordExchange: { id: string } }>(
          `mutation($p: ID!, $r: ID!) { recordExchange(provider: $p, receiver: $r, hours: "1.00", description: "ms ${i}", idempotencyKey: "ex-ms-${i}") { id } }`,
          { p: giver.accountId, r: taker.accountId },
        ),
      ),
    );
    const listedExchanges = await walk(
      admin,
      `query($a: ID!, $first: Int, $after: String) {
         exchanges(accountId: $a, first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
      { a: taker.accountId },
      (d: { exchanges: Page }) => d.exchanges,
    );
    expect([...listedExchanges].sort()).toEqual(exchanges.map((e) => e.recordExchange.id).sort());
    expect(new Set(listedExchanges).size).toBe(5);

    const holds = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        admin.ok<{ createHold: { id: string } }>(
          `mutation($f: ID!, $t: ID!) { createHold(from: $f, to: $t, amount: "0.10", idempotencyKey: "hold-ms-${i}") { id } }`,
          { f: taker.accountId, t: giver.accountId },
        ),
      ),
    );
    const listedHolds = await walk(
      admin,
      `query($a: ID!, $first: Int, $after: String) {
         holds(accountId: $a, first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
      { a: taker.accountId },
      (d: { holds: Page }) => d.holds,
    );
    expect([...listedHolds].sort()).toEqual(holds.map((h) => h.createHold.id).sort());
    expect(new Set(listedHolds).size).toBe(5);
  });
});

/**
 * Holds created by one posting group share their creation instant to the microsecond: the
 * keyset (created_at, id) must still page through them one by one. The posting service and the
 * hold list in process (medium layer), so that the holds are certainly made by one group.
 */
describe('holds created together, paged one at a time', () => {
  let medium: Medium;

  beforeAll(async () => {
    medium = await newMedium();
  });
  afterAll(async () => medium?.close());

  it('lists each hold of one posting group once, in id order', async () => {
    const posting = medium.service<PostingService>('ledger/posting/posting.service', 'PostingService');
    const holds = medium.service<HoldService>('ledger/holds/hold.service', 'HoldService');
    const parties = medium.service<PartyService>('ledger/parties/party.service', 'PartyService');
    const currencies = medium.service<CurrencyService>('ledger/currencies/currency.service', 'CurrencyService');
    const accounts = medium.service<AccountService>('ledger/accounts/account.service', 'AccountService');
    await currencies.create(DEFAULT_NETWORK_ID, 'HOUR', 'Hours', 'TIME', 2, null);
    const open = async (name: string) => {
      const party = await parties.register(DEFAULT_NETWORK_ID, 'MEMBER' as PartyKind, name, null);
      return (await accounts.open(DEFAULT_NETWORK_ID, party.id, 'HOUR', { creditLimit: '50' }, false)).id;
    };
    const [payer, payee] = [await open('Ana'), await open('Ben')];
    const results = await posting.submit({
      ops: Array.from({ length: 6 }, () => ({
        type: 'hold.create' as const,
        kind: 'TRANSFER' as const,
        fromAccountId: payer,
        toAccountId: payee,
        amountMinor: 100n,
      })),
      apiKeyId: null,
      networkId: DEFAULT_NETWORK_ID,
    });
    const ids = results.map((r) => (r.type === 'hold' ? r.id : ''));
    const [same] = await medium.sql<{ instants: string }>(
      'SELECT count(DISTINCT created_at)::text AS instants FROM holds WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(same?.instants).toBe('1');

    const admin: Caller = {
      apiKeyId: 'medium',
      role: 'ADMIN' as Caller['role'],
      partyId: null,
      networkId: DEFAULT_NETWORK_ID,
      deploymentAdmin: false,
    };
    const listed: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const page: ConnectionShape<HoldRecord> = await holds.page(admin, { accountId: payer, first: 1, after });
      listed.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(listed).toEqual([...ids].sort());
  });
});
