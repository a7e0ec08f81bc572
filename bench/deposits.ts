import type { GqlClient } from '../scripts/lib/gql-client';
import { metricValue } from '../scripts/lib/metrics';
import { hasOperation } from './schema-probe';

export interface DepositResult {
  readonly postingsPerSecond: number;
  readonly batches: number;
  readonly available: boolean;
  /** Of the measured run's groups, those applied ahead of the group before them, and those of them run again (migrations/0036). */
  readonly appliedAhead: number;
  readonly appliedAheadMissed: number;
}

const BATCH = 1000;
/** Senders, each with one batch in flight; BENCH_DEPOSIT_SENDERS changes it (to see whether the load itself limits). */
const SENDERS = Number(process.env.BENCH_DEPOSIT_SENDERS ?? 2);

/** `recordDeposits` batches of 1000 from two senders for `seconds`; each deposit is two postings. */
export async function measureDeposits(
  admin: GqlClient,
  seconds: number,
  progress: (m: string) => void,
  warmUp?: { seconds: number; then: () => Promise<void> },
): Promise<DepositResult> {
  if (!(await hasOperation(admin, 'Mutation', 'recordDeposits'))) {
    progress('recordDeposits is not in this build: deposits not measured');
    return { postingsPerSecond: 0, batches: 0, available: false, appliedAhead: 0, appliedAheadMissed: 0 };
  }
  const cu = await admin.ok('mutation { registerParty(kind: CREDIT_UNION, name: "Bench Credit Union") { id } }');
  await admin.ok(
    'mutation($cu: ID) { createCurrency(code: "BENCHD", name: "Bench dollar", kind: MONEY, scale: 2, issuerPartyId: $cu) { code } }',
    {
      cu: cu.registerParty.id,
    },
  );
  const accounts: string[] = [];
  for (let i = 0; i < 100; i++) {
    const party = await admin.ok(`mutation { registerParty(kind: MEMBER, name: "Saver ${i}") { id } }`);
    accounts.push(
      (await admin.ok('mutation($p: ID!) { openAccount(partyId: $p, currency: "BENCHD") { id } }', { p: party.registerParty.id }))
        .openAccount.id,
    );
  }
  const mutation = 'mutation($batch: [DepositInput!]!) { recordDeposits(batch: $batch) { id } }';
  /** Both senders post batches until the deadline; answers how many were posted. */
  const run = async (runSeconds: number, label: string): Promise<number> => {
    let batches = 0;
    const deadline = Date.now() + runSeconds * 1000;
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, sender) => {
        for (let n = 0; Date.now() < deadline; n++) {
          const batch = Array.from({ length: BATCH }, (_, i) => ({
            accountId: accounts[i % accounts.length],
            amount: '12.34',
            externalRef: `bench-${label}-${sender}-${n}-${i}`,
            idempotencyKey: `bench-deposit-${label}-${sender}-${n}-${i}`,
          }));
          const result = await admin.request(mutation, { batch });
          if (result.errors) throw new Error(`recordDeposits refused: ${JSON.stringify(result.errors[0])}`);
          batches++;
        }
      }),
    );
    return batches;
  };
  if (warmUp) {
    progress(`warm-up: deposit batches for ${warmUp.seconds}s (not measured)`);
    await run(warmUp.seconds, 'warm');
    await warmUp.then();
  }
  const before = await aheadCounters(admin);
  const started = Date.now();
  const batches = await run(seconds, 'run');
  const elapsed = (Date.now() - started) / 1000;
  const after = await aheadCounters(admin);
  const appliedAhead = after.applied - before.applied;
  const appliedAheadMissed = after.missed - before.missed;
  progress(
    `deposits: ${batches} batches, ${appliedAhead} applied ahead of the group before them, ${appliedAheadMissed} of those run again`,
  );
  return { postingsPerSecond: Math.round((batches * BATCH * 2) / elapsed), batches, available: true, appliedAhead, appliedAheadMissed };
}

/** The posting module's counters of groups applied ahead (0 for a build without them). */
async function aheadCounters(admin: GqlClient): Promise<{ applied: number; missed: number }> {
  const value = async (name: string) => (await metricValue(admin.url, admin.key ?? '', name)) ?? 0;
  return { applied: await value('ledger_posting_applied_ahead_total'), missed: await value('ledger_posting_applied_ahead_missed_total') };
}
