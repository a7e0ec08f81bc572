import 'reflect-metadata';
import { resolve } from 'node:path';
import { loadConfig } from '../src/config/config';
import { connectToLedger } from './demo/connect';
import { CsvProblem } from './import/csv-reader';
import { type CurrencyInfo, type ImportPlan, planImport } from './import/plan';
import type { GqlClient } from './lib/gql-client';
import { Progress } from './lib/progress';

/**
 * `npm run import -- [--dry-run] DIR`: brings a community's parties, accounts and history from
 * another system into the network of the ADMIN key it uses (docs/import.md). Every row of the
 * three files is checked first; with any problem it names each `file:line`, posts nothing and
 * exits non-zero. Then it sends the rows in batches; refs make every batch safe to send again,
 * so a run after an interruption finishes the import and posts nothing twice.
 */
/** The answer of one import mutation, under the alias r. */
interface Batch {
  r: { created: number; alreadyImported: number };
}

const out = (line: string) => process.stdout.write(`${line}\n`);
/** Transactions per call: one command in the ledger, posted or refused as a whole. */
const BATCH = 500;
const PROGRESS_EVERY = 10_000;

async function currencies(admin: GqlClient): Promise<Map<string, CurrencyInfo>> {
  const data = await admin.ok<{ currencies: ({ code: string } & CurrencyInfo)[] }>(
    '{ currencies { code scale kind defaultCreditLimit defaultMaxBalance } }',
  );
  return new Map(data.currencies.map((c) => [c.code, c]));
}

async function send(admin: GqlClient, plan: ImportPlan): Promise<string[]> {
  const progress = new Progress(4);
  const counts: string[] = [];
  const batches = async <T>(
    title: string,
    rows: readonly T[],
    size: number,
    call: (batch: readonly T[]) => Promise<{ created: number; alreadyImported: number }>,
  ) => {
    const step = progress.step(title, rows.length);
    let created = 0;
    for (let start = 0; start < rows.length; start += size) {
      const batch = rows.slice(start, start + size);
      created += (await call(batch)).created;
      step.tick(batch.length);
      // Large files say how far they are, on a terminal or in a log alike.
      const done = start + batch.length;
      if (rows.length >= PROGRESS_EVERY && Math.floor(done / PROGRESS_EVERY) > Math.floor(start / PROGRESS_EVERY)) {
        step.line(`${done} of ${rows.length} sent`);
      }
    }
    step.done(`${created} new, ${rows.length - created} already imported`);
    counts.push(`${title.toLowerCase()}: ${created} new, ${rows.length - created} already imported`);
  };
  const result = '{ created alreadyImported }';
  await batches(
    'Parties',
    plan.parties,
    500,
    async (batch) =>
      (await admin.ok<Batch>(`mutation($rows: [ImportPartyInput!]!) { r: importParties(parties: $rows) ${result} }`, { rows: batch })).r,
  );
  await batches(
    'Accounts',
    plan.accounts,
    500,
    async (batch) =>
      (
        await admin.ok<Batch>(`mutation($rows: [ImportAccountInput!]!) { r: importAccounts(accounts: $rows) ${result} }`, {
          rows: batch.map((a) => ({
            ref: a.ref,
            partyRef: a.partyRef,
            currency: a.currency,
            creditLimit: a.creditLimit,
            maxBalance: a.maxBalance,
          })),
        })
      ).r,
  );
  await batches('Transactions', plan.transactions, BATCH, async (batch) => {
    const rows = batch.map((t) => ({
      ref: t.ref,
      postedAt: t.postedAt.toISOString(),
      kind: t.kind,
      memo: t.memo,
      fromAccountRef: t.fromAccountRef,
      toAccountRef: t.toAccountRef,
      amount: t.amount,
    }));
    const response = await admin.request<Batch>(
      `mutation($rows: [ImportTransactionInput!]!) { r: importTransactions(transactions: $rows) ${result} }`,
      { rows },
    );
    const error = response.errors?.[0];
    if (error) {
      const index = (error.extensions as { index?: number } | undefined)?.index;
      const where = typeof index === 'number' && batch[index] ? `transactions.csv:${batch[index].line}: ` : '';
      throw new Error(`the ledger refused ${where}${error.message} (${String(error.extensions?.code)})`);
    }
    if (!response.data) throw new Error('the ledger answered without data');
    return response.data.r;
  });
  const verify = progress.step('Checking the ledger (verifyLedger)');
  const check = await admin.ok<{ verifyLedger: { ok: boolean; transactionsChecked: number; firstProblem: string | null } }>(
    '{ verifyLedger { ok transactionsChecked firstProblem } }',
  );
  verify.done(
    check.verifyLedger.ok
      ? `ok, ${check.verifyLedger.transactionsChecked} transactions checked`
      : `PROBLEM: ${check.verifyLedger.firstProblem}`,
  );
  counts.push(`verifyLedger: ${check.verifyLedger.ok ? 'ok' : `PROBLEM ${check.verifyLedger.firstProblem}`}`);
  if (!check.verifyLedger.ok) process.exitCode = 1;
  return counts;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dryRun = args.includes('--dry-run');
  const dirs = args.filter((a) => !a.startsWith('--'));
  if (args.includes('--help') || dirs.length !== 1) {
    out('npm run import -- [--dry-run] DIR\n\nDIR holds parties.csv, accounts.csv and transactions.csv (docs/import.md).');
    process.exitCode = args.includes('--help') ? 0 : 2;
    return;
  }
  const dir = resolve(dirs[0] as string);
  const config = loadConfig();
  const ledger = await connectToLedger(config, (line) => out(`  ${line}`));
  try {
    out(`Using ${ledger.how}.`);
    out(`Checking ${dir} …`);
    const plan = planImport(dir, await currencies(ledger.admin), config.defaultTimeCreditLimit, new Date());
    if ('problems' in plan) {
      for (const problem of plan.problems) out(`  ${problem}`);
      out('Nothing was imported: fix the rows above and run again.');
      process.exitCode = 1;
      return;
    }
    out(`  ${plan.parties.length} parties, ${plan.accounts.length} accounts, ${plan.transactions.length} transactions: every row is fine.`);
    if (dryRun) {
      out('Dry run: nothing was sent to the ledger.');
      return;
    }
    const counts = await send(ledger.admin, plan);
    out(`\nImported. ${counts.join('; ')}.`);
  } finally {
    await ledger.stop();
  }
}

main().catch((error: unknown) => {
  if (error instanceof CsvProblem) {
    process.stderr.write(`${error.message}\nNothing was imported: fix the file and run again.\n`);
  } else {
    process.stderr.write(`\nThe import stopped: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stderr.write('Run it again when the cause is fixed: it finishes what is missing and posts nothing twice.\n');
  }
  process.exit(1);
});
