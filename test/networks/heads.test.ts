import type { Client } from 'pg';
import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import { connect } from '../support/database';
import type { GqlClient } from '../support/graphql';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger, transfer, verifyLedger } from '../support/ledger';
import { dataOf, waitFor } from '../timebank/helpers';

/**
 * SPEC B.3: postings in different networks never wait on each other's locks. Another database
 * session holds network A's head lock; a transfer in A waits for it, and a transfer in network
 * B completes meanwhile.
 */
let ledger: TestLedger;
let db: Client;
let bNetworkId: string;
let bAdmin: GqlClient;
const accounts: Record<'a' | 'b', string[]> = { a: [], b: [] };

async function twoAccounts(admin: GqlClient, prefix: string): Promise<string[]> {
  await createCurrency(admin, 'HOUR', 'TIME', 2);
  const ids = [];
  for (const name of ['one', 'two']) ids.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `${prefix} ${name}`), 'HOUR'));
  return ids;
}

/** Backends of the service waiting for a lock inside a posting group. */
async function groupsWaitingOnLocks(): Promise<number> {
  // Inside a transaction the statistics views are read once and kept: read them afresh.
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_group_load%'`,
  );
  return Number(rows[0]?.n ?? 0);
}

beforeAll(async () => {
  ledger = await startLedger();
  bNetworkId = (await ledger.admin.ok('mutation { createNetwork(slug: "network-b", name: "B") { id } }')).createNetwork.id as string;
  const key = (await ledger.admin.ok('mutation($n: ID!) { createApiKey(role: ADMIN, networkId: $n) { secret } }', { n: bNetworkId }))
    .createApiKey.secret as string;
  bAdmin = ledger.client(key);
  accounts.a = await twoAccounts(ledger.admin, 'A');
  accounts.b = await twoAccounts(bAdmin, 'B');
  db = await connect(ledger.databaseUrl);
});

afterAll(async () => {
  await db?.end();
  await ledger?.stop();
});

it('a transfer in network B completes while network A’s head is locked elsewhere; A’s waits for the lock', async () => {
  const [a1, a2] = accounts.a as [string, string];
  const [b1, b2] = accounts.b as [string, string];
  await db.query('BEGIN');
  await db.query('SELECT sequence FROM ledger_head WHERE network_id = $1 FOR UPDATE', [DEFAULT_NETWORK_ID]);
  let aSettled = false;
  const inA = transfer(ledger.admin, a1, a2, '1.00', 'blocked-in-a').finally(() => {
    aSettled = true;
  });
  try {
    await waitFor('the transfer in A to wait on its head', async () => ((await groupsWaitingOnLocks()) >= 1 ? true : undefined));

    const inB = dataOf(await transfer(bAdmin, b1, b2, '1.00', 'free-in-b')).transfer;
    expect(inB.sequence).toBe('1');
    // B posted while A's group was still waiting on A's head.
    expect(aSettled).toBe(false);
    expect(await groupsWaitingOnLocks()).toBe(1);
    const { rows } = await db.query<{ network_id: string; sequence: string }>(
      'SELECT network_id, sequence FROM ledger_head ORDER BY sequence',
    );
    expect(rows).toContainEqual({ network_id: bNetworkId, sequence: '1' });
  } finally {
    await db.query('ROLLBACK');
  }
  const posted = dataOf(await inA).transfer;
  expect(posted.sequence).toBe('1');
  expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, transactionsChecked: 1 });
  expect(await verifyLedger(bAdmin)).toMatchObject({ ok: true, transactionsChecked: 1 });
});

it('groups of two networks post side by side under concurrent load, each chain gap-free', async () => {
  const [a1, a2] = accounts.a as [string, string];
  const [b1, b2] = accounts.b as [string, string];
  const sends = Array.from({ length: 40 }, (_, i) =>
    i % 2 === 0 ? transfer(ledger.admin, a1, a2, '0.01', `load-a-${i}`) : transfer(bAdmin, b1, b2, '0.01', `load-b-${i}`),
  );
  const results = await Promise.all(sends);
  const sequences = (network: 'a' | 'b') =>
    results
      .filter((_, i) => (i % 2 === 0) === (network === 'a'))
      .map((r) => Number(dataOf(r).transfer.sequence))
      .sort((x, y) => x - y);
  expect(sequences('a')).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  expect(sequences('b')).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, transactionsChecked: 21 });
  expect(await verifyLedger(bAdmin)).toMatchObject({ ok: true, transactionsChecked: 21 });
});
