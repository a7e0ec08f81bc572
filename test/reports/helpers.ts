import { spawn } from 'node:child_process';
import type { GqlClient } from '../support/graphql';
import { transfer } from '../support/ledger';

/** Decimal text to minor units, for sums in tests (never floats). */
export function minor(amount: string, scale: number): bigint {
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.');
  const value = BigInt(whole + fraction.padEnd(scale, '0'));
  return amount.startsWith('-') ? -value : value;
}

export function decimal(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

let counter = 0;
/** A transfer that must succeed; returns its sequence. */
export async function pay(client: GqlClient, from: string, to: string, amount: string): Promise<string> {
  const result = await transfer(client, from, to, amount, `pay-${process.pid}-${++counter}-${Date.now()}`);
  if (result.errors?.length) throw new Error(`transfer refused: ${JSON.stringify(result.errors)}`);
  return result.data!.transfer.sequence;
}

export interface PostedTransaction {
  id: string;
  sequence: string;
  postedAt: string;
}

/** Posts a balanced transaction of any kind as the given (admin) client. */
export async function post(
  client: GqlClient,
  kind: string,
  postings: { accountId: string; amount: string }[],
  extra: { memo?: string; metadata?: unknown; externalRef?: string } = {},
): Promise<PostedTransaction> {
  const data = await client.ok<{ postTransaction: PostedTransaction }>(
    `mutation($postings: [PostingInput!]!, $kind: TransactionKind!, $memo: String, $metadata: JSON, $ref: String, $key: String!) {
       postTransaction(postings: $postings, kind: $kind, memo: $memo, metadata: $metadata, externalRef: $ref, idempotencyKey: $key) { id sequence postedAt }
     }`,
    {
      postings,
      kind,
      memo: extra.memo ?? null,
      metadata: extra.metadata ?? null,
      ref: extra.externalRef ?? null,
      key: `post-${process.pid}-${++counter}`,
    },
  );
  return data.postTransaction;
}

export async function issuanceAccount(admin: GqlClient, creditUnionId: string, currency: string): Promise<string> {
  const data = await admin.ok<{ accounts: { edges: { node: { id: string; unlimited: boolean } }[] } }>(
    'query($p: ID!, $c: String!) { accounts(partyId: $p, currency: $c) { edges { node { id unlimited } } } }',
    { p: creditUnionId, c: currency },
  );
  const found = data.accounts.edges.find((e) => e.node.unlimited);
  if (!found) throw new Error('no issuance account');
  return found.node.id;
}

export async function addMember(admin: GqlClient, organisationId: string, memberId: string): Promise<void> {
  await admin.ok('mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }', {
    o: organisationId,
    m: memberId,
  });
}

export interface TrialBalanceResult {
  asOf: string;
  total: string;
  lines: { account: { id: string }; balance: string }[];
}

export async function trialBalance(client: GqlClient, currency: string, asOf?: string): Promise<TrialBalanceResult> {
  const data = await client.ok<{ trialBalance: TrialBalanceResult }>(
    'query($c: String!, $asOf: DateTime) { trialBalance(currency: $c, asOf: $asOf) { asOf total lines { account { id } balance } } }',
    { c: currency, asOf: asOf ?? null },
  );
  return data.trialBalance;
}

export async function balanceAt(client: GqlClient, accountId: string, asOf: string): Promise<string> {
  const data = await client.ok<{ balanceAt: string }>('query($id: ID!, $asOf: DateTime!) { balanceAt(accountId: $id, asOf: $asOf) }', {
    id: accountId,
    asOf,
  });
  return data.balanceAt;
}

/** Runs a program with `input` on stdin; resolves with its exit code and output. */
export function run(command: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Parses RFC 4180 CSV (CRLF or LF line ends, quoted fields with doubled quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** Runs `hledger -f - balance --flat` on a journal and returns each account's total by account name. */
export async function hledgerBalances(journal: string, extra: string[] = []): Promise<Map<string, string>> {
  const result = await run('hledger', ['-f', '-', 'balance', '--flat', '--no-total', '-O', 'csv', ...extra], journal);
  if (result.code !== 0) throw new Error(`hledger refused the journal:\n${result.stderr}`);
  const totals = new Map<string, string>();
  for (const [account, amount] of parseCsv(result.stdout).slice(1)) {
    totals.set(account!, amount!.replace(/\s+("[^"]*"|[A-Za-z_]+)$/, ''));
  }
  return totals;
}

/** The account id at the end of an hledger account name. */
export function idOf(name: string): string {
  return name.slice(name.lastIndexOf(':') + 1);
}
