import { randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import type { GqlClient } from '../lib/gql-client';
import { AUDITOR, CO_OP_TREASURER, COORDINATOR, type DemoKeysFile, INTEGRATION, LAND_TRUST_TREASURER, memberKeyLabel } from './demo-keys';
import { allNodes } from './directory';
import { BALANCE_CAP, DOLLARS, HOURS, TIME_BANK } from './network';
import { DEMO_NETWORK, SECOND_NETWORK } from './networks';

/**
 * What the demo network holds, read back from the ledger with the auditor's key (or the admin's
 * when the demo's keys are not at hand): counts, a trial balance per currency, the ledger's own
 * verification, and one example key per role.
 */
interface TrialBalance {
  total: string;
  lines: { balance: string; account: { unlimited: boolean; party: { name: string } } }[];
}

function tally(values: string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([value, count]) => `${count} ${value}`)
    .join(', ');
}

async function countLines(reader: GqlClient): Promise<string[]> {
  const parties = await allNodes<{ kind: string }>(reader, 'parties', 'kind');
  const accounts = await allNodes<{ id: string; currency: { code: string } }>(reader, 'accounts', 'id currency { code }');
  const transactions = await allNodes<{ kind: string }>(reader, 'transactions', 'kind');
  const offers = await allNodes<{ open: boolean }>(reader, 'offers', 'open');
  const requests = await allNodes<{ open: boolean }>(reader, 'requests', 'open');
  const holds = new Map<string, string>();
  for (const account of accounts.filter((a) => a.currency.code === HOURS.code)) {
    for (const hold of await allNodes<{ id: string; status: string }>(
      reader,
      'holds',
      'id status',
      `accountId: ${JSON.stringify(account.id)}`,
    )) {
      holds.set(hold.id, hold.status);
    }
  }
  const statuses = [...holds.values()];
  return [
    `parties       ${parties.length}: ${tally(parties.map((p) => p.kind))}`,
    `accounts      ${accounts.length}: ${tally(accounts.map((a) => a.currency.code))}`,
    `transactions  ${transactions.length}: ${tally(transactions.map((t) => t.kind))}`,
    `claims        ${statuses.filter((s) => s === 'PENDING').length} exchanges waiting for the receiver, ${statuses.filter((s) => s === 'VOIDED').length} disputed, ${statuses.filter((s) => s === 'CAPTURED').length} confirmed by the receiver`,
    `listings      ${offers.length} offers, ${requests.length} requests (${requests.filter((r) => !r.open).length} fulfilled)`,
  ];
}

async function trialBalanceLines(reader: GqlClient): Promise<string[]> {
  const lines: string[] = [];
  for (const code of [HOURS.code, DOLLARS.code]) {
    const data = await reader.ok<{ trialBalance: TrialBalance }>(
      'query($code: String!) { trialBalance(currency: $code) { total lines { balance account { unlimited party { name } } } } }',
      { code },
    );
    const { total, lines: accounts } = data.trialBalance;
    const issuance = accounts.find((line) => line.account.unlimited);
    const lowest = [...accounts].sort((a, b) => new Decimal(a.balance).cmp(b.balance))[0];
    const detail = issuance
      ? `in circulation ${issuance.balance.replace(/^-/, '')} (issuance account ${issuance.balance})`
      : lowest
        ? `lowest ${lowest.account.party.name} ${lowest.balance}`
        : 'no accounts';
    lines.push(`${code.padEnd(5)} ${String(accounts.length).padStart(3)} accounts, total ${total}; ${detail}`);
  }
  return lines;
}

interface BoundedAccount {
  id: string;
  maxBalance: string | null;
  posted: string;
  pendingCredits: string;
  party: { name: string };
  currency: { code: string };
}

/**
 * The balance bound at work (SPEC B.4): the pool tries to pay the capped member one hour more
 * than their room under the bound, and the ledger refuses it with BALANCE_LIMIT_EXCEEDED. A
 * refusal posts nothing, so the summary shows it afresh on every run without changing the demo.
 */
async function balanceBoundLine(reader: GqlClient, mover: GqlClient): Promise<string> {
  const accounts = await allNodes<BoundedAccount>(
    reader,
    'accounts',
    'id maxBalance posted pendingCredits party { name } currency { code }',
  );
  const ofHours = (name: string) => accounts.find((a) => a.currency.code === HOURS.code && a.party.name === name);
  const capped = ofHours(BALANCE_CAP.member);
  const pool = ofHours(TIME_BANK.name);
  if (!capped?.maxBalance || !pool)
    return `no maximum balance on ${BALANCE_CAP.member}'s ${HOURS.code} account (a demo made before balance bounds)`;
  const room = new Decimal(capped.maxBalance).minus(capped.posted).minus(capped.pendingCredits);
  const amount = Decimal.max(room, 0).plus(1).toFixed(HOURS.scale);
  const response = await mover.request(
    'mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) { transfer(from: $from, to: $to, amount: $amount, memo: "Over the cap", idempotencyKey: $key) { id } }',
    { from: pool.id, to: capped.id, amount, key: `demo-over-cap-${randomUUID()}` },
  );
  const code = response.errors?.[0]?.extensions?.code;
  if (!response.errors?.length) throw new Error(`a payment over ${BALANCE_CAP.member}'s maximum balance was accepted`);
  return (
    `${BALANCE_CAP.member} may hold at most ${capped.maxBalance} ${HOURS.code} (holds ${capped.posted}, ${capped.pendingCredits} on its way); ` +
    `${amount} more from the pool is refused: ${String(code)}`
  );
}

function keyLines(
  keys: DemoKeysFile | undefined,
  adminWhere: string,
  coordinator: string | undefined,
  second: string | undefined,
): string[] {
  const rows: [string, string, string][] = coordinator
    ? [
        ['DEPLOYMENT', 'hosting co-op: creates networks', adminWhere],
        ['ADMIN', `coordinator of network ${DEMO_NETWORK.slug}`, coordinator],
      ]
    : [['ADMIN', 'coordinator of this network', adminWhere]];
  if (keys) {
    const row = (role: string, who: string, label: string) => rows.push([role, who, keys.keys[label] ?? '(missing)']);
    row('MEMBER', 'Ana Lima, time bank member', memberKeyLabel('Ana Lima'));
    row('TREASURER', 'Riverside Time Bank coordinator', COORDINATOR);
    row('TREASURER', 'Riverwest Sound Workers Co-op', CO_OP_TREASURER);
    row('TREASURER', 'Riverwest Community Land Trust', LAND_TRUST_TREASURER);
    row('INTEGRATION', 'Cream City Credit Union back office', INTEGRATION);
    row('AUDITOR', 'reads everything', AUDITOR);
  }
  if (second) rows.push(['ADMIN', `coordinator of network ${SECOND_NETWORK.slug}`, second]);
  return rows.map(([role, who, secret]) => `${role.padEnd(11)} ${who.padEnd(36)} ${secret}`);
}

export async function printSummary(options: {
  reader: GqlClient;
  /** A key that may pay from the time bank's pool (the network's ADMIN): shows a payment over a balance bound refused. */
  mover: GqlClient;
  keys: DemoKeysFile | undefined;
  keysFile: string;
  adminWhere: string;
  /** The demo network's ADMIN key, when the demo has a network of its own. */
  coordinator?: string;
  /** The second community's summary line and ADMIN key. */
  second?: { line: string; key?: string };
  url: string;
  out: (line: string) => void;
}): Promise<void> {
  const { reader, out } = options;
  const verification = await reader.ok<{ verifyLedger: { ok: boolean; transactionsChecked: number; firstProblem: string | null } }>(
    '{ verifyLedger { ok transactionsChecked firstProblem } }',
  );
  const verify = verification.verifyLedger;
  out('');
  out('The demo network:');
  for (const line of await countLines(reader)) out(`  ${line}`);
  out('Trial balances (every currency sums to zero):');
  for (const line of await trialBalanceLines(reader)) out(`  ${line}`);
  out(`Balance bound: ${await balanceBoundLine(reader, options.mover)}`);
  out(
    `Ledger verification: ${verify.ok ? `ok (${verify.transactionsChecked} transactions, balances and hash chain recomputed)` : `PROBLEM: ${verify.firstProblem}`}`,
  );
  if (options.second) out(`Second network: ${options.second.line}`);
  out('');
  out(options.keys ? `Example keys, one per role (kept in ${options.keysFile}):` : 'Keys:');
  for (const line of keyLines(options.keys, options.adminWhere, options.coordinator, options.second?.key)) out(`  ${line}`);
  if (!options.keys) out('  The example keys were printed when the demo was made; `npm run seed:demo -- --new-keys` issues a new set.');
  out('');
  out(`Explore: open ${options.url} in a browser, paste a key, and pick an example for its role.`);
  out(
    `Or:      curl -s ${options.url} -H 'content-type: application/json' -H "authorization: Bearer <key>" -d '{"query":"{ me { role party { name } } accounts { edges { node { currency { code } posted available } } } }"}'`,
  );
}
