import type { Client } from 'pg';
import { connect } from '../support/database';
import type { GqlClient } from '../support/graphql';
import { metricOf } from '../support/metrics';
import { startService, type RunningService } from '../support/service';
import { createCurrency, createKey, startLedger, type TestLedger } from '../support/ledger';
import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import { decimal } from './helpers';

/**
 * The activity rollup (docs/reports.md, "How it stays fast"): closed days rolled up by workers
 * in other instances, the report read from a third that rolls nothing up. Whatever the rollup
 * has done so far (nothing, part, all, racing an import), every report equals the sums of the
 * postings; several workers never count a period twice; networks are rolled up apart.
 */
interface Line {
  account: { id: string };
  credited: string;
  debited: string;
  transactions: number;
}
interface Report {
  totals: { transactions: number; activeAccounts: number; volume: string };
  lines: Line[];
}

const ACTIVITY = `query($from: DateTime!, $to: DateTime!, $first: Int, $after: String) {
  activity(currency: "HOUR", from: $from, to: $to, first: $first, after: $after) {
    totals { transactions activeAccounts volume }
    lines { edges { node { account { id } credited debited transactions } } pageInfo { hasNextPage endCursor } }
  } }`;

/** Windows of January 2025: whole days, partial days, one day's inside, all of history. */
const WINDOWS: [string, string][] = [
  ['2025-01-02T00:00:00Z', '2025-01-04T00:00:00Z'],
  ['2025-01-01T10:00:00Z', '2025-01-05T18:00:00Z'],
  ['2025-01-03T05:00:00Z', '2025-01-03T20:00:00Z'],
  ['2025-01-05T00:00:00Z', '2025-01-09T00:00:00Z'],
  ['2025-01-04T13:00:00Z', '2025-01-08T02:00:00Z'],
  ['2024-12-01T00:00:00Z', '2100-01-01T00:00:00Z'],
];
/** Hours of the day at which each imported day has a transaction. */
const HOURS_OF_DAY = ['01:00', '06:30', '12:00', '13:15', '19:45', '23:59'];

describe('activity over rolled-up periods (SPEC B.5)', () => {
  let ledger: TestLedger;
  let db: Client;
  const workers: RunningService[] = [];
  /** Account refs: the pool, three members, and a second account of member 0. */
  const refs = ['pool', 'm0', 'm1', 'm2', 'm0b'];
  let ids: Map<string, string>;
  let member0: GqlClient;
  let member1: GqlClient;
  /** The ADMIN of a second network, with history on the same days. */
  let other: { id: string; admin: GqlClient };
  let counter = 0;

  /** The directory of a network: a pool, three members, a second account of member 0. */
  async function setUpDirectory(admin: GqlClient): Promise<void> {
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    await admin.ok('mutation($p: [ImportPartyInput!]!) { importParties(parties: $p) { created } }', {
      p: [
        { ref: 'pool', kind: 'COMMUNITY', name: 'Riverside Time Bank' },
        ...[0, 1, 2].map((i) => ({ ref: `m${i}`, kind: 'MEMBER', name: `Member ${i}` })),
      ],
    });
    // One call per account, so that their creation order tells them apart.
    for (const ref of refs) {
      await admin.ok('mutation($a: [ImportAccountInput!]!) { importAccounts(accounts: $a) { created } }', {
        a: [{ ref, partyRef: ref === 'm0b' ? 'm0' : ref, currency: 'HOUR', creditLimit: '10000' }],
      });
    }
  }

  beforeAll(async () => {
    // This instance answers the reports and rolls nothing up; the workers start later.
    ledger = await startLedger({ ACTIVITY_ROLLUP_INTERVAL_MS: '0' });
    db = await connect(ledger.databaseUrl);
    await setUpDirectory(ledger.admin);
    const rows = await db.query<{ id: string }>('SELECT id FROM accounts WHERE network_id = $1 ORDER BY created_at', [DEFAULT_NETWORK_ID]);
    expect(rows.rows).toHaveLength(refs.length);
    ids = new Map(refs.map((ref, i) => [ref, rows.rows[i]!.id]));
    const parties = await db.query<{ id: string; name: string }>(
      `SELECT id, name FROM parties WHERE network_id = $1 AND name LIKE 'Member %' ORDER BY name`,
      [DEFAULT_NETWORK_ID],
    );
    member0 = ledger.client(await createKey(ledger.admin, 'MEMBER', parties.rows[0]!.id));
    member1 = ledger.client(await createKey(ledger.admin, 'MEMBER', parties.rows[1]!.id));
    const network = await ledger.admin.ok('mutation { createNetwork(slug: "upriver", name: "Upriver Time Bank") { id } }');
    const key = await ledger.admin.ok('mutation($n: ID!) { createApiKey(role: ADMIN, networkId: $n) { secret } }', {
      n: network.createNetwork.id,
    });
    other = { id: network.createNetwork.id, admin: ledger.client(key.createApiKey.secret) };
    await setUpDirectory(other.admin);
  });
  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await db.end();
    await ledger.stop();
  });

  /** Imports one transaction at each of HOURS_OF_DAY on each day, from `fromHour` of the first day to before `untilHour` of the last. */
  async function importDays(days: string[], fromHour = '00:00', untilHour = '24:00', admin = ledger.admin): Promise<void> {
    const pairs: [string, string, string][] = [
      ['pool', 'm0', 'ADJUSTMENT'],
      ['m0', 'm1', 'EXCHANGE'],
      ['m1', 'm2', 'TRANSFER'],
      ['m0', 'm0b', 'TRANSFER'],
      ['m2', 'pool', 'EXCHANGE'],
      ['m0b', 'm2', 'TRANSFER'],
    ];
    const transactions = days.flatMap((day, d) =>
      HOURS_OF_DAY.filter((hour) => (d > 0 || hour >= fromHour) && (d < days.length - 1 || hour < untilHour)).map((hour, h) => {
        const [from, to, kind] = pairs[(d + h) % pairs.length]!;
        counter += 1;
        return {
          ref: `tx-${counter}`,
          postedAt: `${day}T${hour}:00Z`,
          kind,
          memo: `history ${counter}`,
          fromAccountRef: from,
          toAccountRef: to,
          amount: `${1 + (counter % 7)}.${String(counter % 100).padStart(2, '0')}`,
        };
      }),
    );
    await admin.ok('mutation($t: [ImportTransactionInput!]!) { importTransactions(transactions: $t) { created } }', {
      t: transactions,
    });
  }

  /** What the postings table says for [from, to): the numbers the report must equal. */
  async function fromPostings(from: string, to: string, accountIds: string[] | null, network = DEFAULT_NETWORK_ID): Promise<Report> {
    const { rows } = await db.query<{ account_id: string; credited: string; debited: string; n: string }>(
      `SELECT p.account_id, coalesce(sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0)::text AS credited,
              coalesce(-sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0), 0)::text AS debited, count(*)::text AS n
         FROM postings p JOIN transactions t ON t.id = p.transaction_id
        WHERE t.posted_at >= $1 AND t.posted_at < $2 AND ($3::uuid[] IS NULL OR p.account_id = ANY($3)) AND p.network_id = $4
        GROUP BY p.account_id ORDER BY p.account_id`,
      [from, to, accountIds, network],
    );
    const [tx] = (
      await db.query<{ n: string }>(
        `SELECT count(DISTINCT p.transaction_id)::text AS n FROM postings p JOIN transactions t ON t.id = p.transaction_id
          WHERE t.posted_at >= $1 AND t.posted_at < $2 AND ($3::uuid[] IS NULL OR p.account_id = ANY($3)) AND p.network_id = $4`,
        [from, to, accountIds, network],
      )
    ).rows;
    return {
      totals: {
        transactions: Number(tx?.n),
        activeAccounts: rows.length,
        volume: decimal(
          rows.reduce((sum, r) => sum + BigInt(r.credited), 0n),
          2,
        ),
      },
      lines: rows.map((r) => ({
        account: { id: r.account_id },
        credited: decimal(BigInt(r.credited), 2),
        debited: decimal(BigInt(r.debited), 2),
        transactions: Number(r.n),
      })),
    };
  }

  async function report(client: GqlClient, from: string, to: string): Promise<Report> {
    const lines: Line[] = [];
    let after: string | null = null;
    let totals: Report['totals'] | undefined;
    for (let page = 0; page < 20; page++) {
      const data: {
        activity: { totals: Report['totals']; lines: { edges: { node: Line }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
      } = await client.ok(ACTIVITY, { from, to, first: 2, after });
      totals ??= data.activity.totals;
      expect(data.activity.totals).toEqual(totals);
      lines.push(...data.activity.lines.edges.map((e) => e.node));
      if (!data.activity.lines.pageInfo.hasNextPage) return { totals, lines };
      after = data.activity.lines.pageInfo.endCursor;
    }
    throw new Error('too many pages');
  }

  /** Every window, for the whole currency (admin), one account (member 1) and two accounts (member 0). */
  async function expectReportsEqualPostings(): Promise<void> {
    const m0 = [ids.get('m0')!, ids.get('m0b')!];
    for (const [from, to] of WINDOWS) {
      expect(await report(ledger.admin, from, to)).toEqual(await fromPostings(from, to, null));
      expect(await report(member1, from, to)).toEqual(await fromPostings(from, to, [ids.get('m1')!]));
      expect(await report(member0, from, to)).toEqual(await fromPostings(from, to, m0));
    }
  }

  async function periods(network = DEFAULT_NETWORK_ID): Promise<{ after: string; last: string; day: string }[]> {
    return (
      await db.query<{ after: string; last: string; day: string }>(
        `SELECT after_sequence::text AS after, last_sequence::text AS last, to_char(day, 'YYYY-MM-DD') AS day
           FROM activity_periods WHERE network_id = $1 ORDER BY last_sequence`,
        [network],
      )
    ).rows;
  }

  /** Waits until the workers have rolled up every transaction posted before `instant` (and no further than them). */
  async function waitForRollup(instant: string, network = DEFAULT_NETWORK_ID): Promise<void> {
    const target = (
      await db.query<{ s: string }>(
        'SELECT coalesce(max(sequence), 0)::text AS s FROM transactions WHERE network_id = $2 AND posted_at < $1',
        [instant, network],
      )
    ).rows[0]!.s;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const last = (await periods(network)).at(-1)?.last ?? '0';
      if (BigInt(last) >= BigInt(target)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the rollup did not reach #${target} within a minute`);
  }

  /** Periods follow each other from 0 without gap or overlap, and their sums equal the postings of their sequences. */
  async function expectPeriodsExact(): Promise<void> {
    for (const network of [DEFAULT_NETWORK_ID, other.id]) {
      const all = await periods(network);
      all.forEach((period, i) => expect(period.after).toBe(i === 0 ? '0' : all[i - 1]!.last));
    }
    const { rows } = await db.query<{ mismatches: string }>(
      `WITH truth AS (SELECT pr.network_id, pr.last_sequence, p.account_id,
                             coalesce(sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0) AS credited,
                             coalesce(-sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0), 0) AS debited, count(*) AS n
                        FROM activity_periods pr
                        JOIN postings p ON p.network_id = pr.network_id AND p.sequence > pr.after_sequence AND p.sequence <= pr.last_sequence
                       GROUP BY pr.network_id, pr.last_sequence, p.account_id)
       SELECT count(*)::text AS mismatches FROM truth t
         FULL JOIN activity_period_accounts r ON r.network_id = t.network_id AND r.last_sequence = t.last_sequence AND r.account_id = t.account_id
        WHERE t.n IS NULL OR r.transactions IS NULL OR r.credited_minor <> t.credited OR r.debited_minor <> t.debited OR r.transactions <> t.n`,
    );
    expect(rows[0]!.mismatches).toBe('0');
  }

  it('equals the postings before any rollup, while workers in two instances roll up, and after they caught up', async () => {
    // Day 5 ends at 12:00 for now: the next import continues it.
    await importDays(['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04', '2025-01-05'], '00:00', '12:30');
    // The other network's own history on the same days (its own sequences from 1).
    await importDays(['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04'], '00:00', '24:00', other.admin);
    expect(await periods()).toEqual([]);
    await expectReportsEqualPostings();

    // Two instances roll up side by side, in periods of at most three transactions (days are cut).
    for (let i = 0; i < 2; i++) {
      workers.push(
        await startService(
          ledger.databaseUrl,
          { ACTIVITY_ROLLUP_INTERVAL_MS: '50', ACTIVITY_ROLLUP_MAX_TRANSACTIONS: '3' },
          ledger.service.adminKey,
        ),
      );
    }
    await waitForRollup('2025-01-05T00:00:00Z');
    await waitForRollup('2025-01-04T00:00:00Z', other.id);
    expect((await periods(other.id)).map((p) => p.day)).not.toContain('2025-01-04');
    const everything: [string, string] = ['2024-12-01T00:00:00Z', '2100-01-01T00:00:00Z'];
    expect(await report(other.admin, ...everything)).toEqual(await fromPostings(...everything, null, other.id));
    // Days of six transactions are cut in periods of three, so windows also start and end inside periods.
    expect((await periods()).filter((p) => p.day === '2025-01-02')).toHaveLength(2);
    // Day 5 is not closed (nothing is posted after it yet), so it is not rolled up.
    expect((await periods()).map((p) => p.day)).not.toContain('2025-01-05');
    await expectPeriodsExact();
    await expectReportsEqualPostings();
  });

  it('stays exact when an import adds to the last day and later days while the workers run, and after', async () => {
    const before = await periods();
    await importDays(['2025-01-05', '2025-01-06', '2025-01-07', '2025-01-08', '2025-01-09'], '13:15');
    // Racing the workers: whatever they have rolled up by now.
    await expectReportsEqualPostings();
    await waitForRollup('2025-01-09T00:00:00Z');
    // What was rolled up before the import is untouched: periods are sequence ranges, and the
    // import's transactions came after them.
    expect((await periods()).slice(0, before.length)).toEqual(before);
    await expectPeriodsExact();
    await expectReportsEqualPostings();
  });

  it('counts a live reversal of imported history, and closes the last imported day', async () => {
    const [tx] = (
      await db.query<{ id: string }>(
        `SELECT id FROM transactions WHERE network_id = $1 AND kind = 'TRANSFER' AND memo LIKE 'history %' ORDER BY sequence LIMIT 1`,
        [DEFAULT_NETWORK_ID],
      )
    ).rows;
    await ledger.admin.ok(
      'mutation($id: ID!) { reverseTransaction(id: $id, reason: "entered twice", idempotencyKey: "rollup-rev") { id } }',
      {
        id: tx!.id,
      },
    );
    // Posted now, after midnight of every imported day: all of history is closed and rolled up.
    await waitForRollup('2025-01-10T00:00:00Z');
    expect((await periods()).map((p) => p.day)).toContain('2025-01-09');
    await expectPeriodsExact();
    await expectReportsEqualPostings();
    const all = await report(ledger.admin, '2024-12-01T00:00:00Z', '2100-01-01T00:00:00Z');
    const imported = Number(
      (
        await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM transactions WHERE network_id = $1 AND memo LIKE 'history %'`, [
          DEFAULT_NETWORK_ID,
        ])
      ).rows[0]!.n,
    );
    expect(all.totals.transactions).toBe(imported + 1);
    // Each period was written by one instance: what the two workers say they rolled up adds up to the periods there are.
    let rolled = 0;
    for (const worker of workers) {
      rolled += await metricOf(worker, 'ledger_activity_periods_rolled_total');
    }
    const stored = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM activity_periods')).rows[0]!.n);
    expect(rolled).toBe(stored);
  });
});
