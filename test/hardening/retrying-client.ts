import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';

/**
 * A client as the spec asks integrations to behave: it sends each transfer with its idempotency
 * key and, when it gets no definite answer (no response, a 5xx, INTERNAL, RATE_LIMITED), sends
 * the very same request again until it does. The memo repeats the key, so the database itself
 * can be asked whether a key was ever posted twice.
 */
export interface Transfer {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  readonly amountMinor: number;
  id?: string;
  /** A definite refusal (a SPEC code other than INTERNAL and RATE_LIMITED). */
  refused?: string;
  attempts: number;
}

const TRANSFER = `mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!) {
  transfer(from: $from, to: $to, amount: $amount, memo: $key, idempotencyKey: $key) { id } }`;

/** Minor units of a scale-2 currency as its decimal text. */
export function decimal(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

export async function sendUntilDefinite(url: () => string, key: string, transfer: Transfer, giveUpAtMs: number): Promise<void> {
  for (;;) {
    transfer.attempts++;
    try {
      const response = await fetch(url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: TRANSFER,
          variables: { from: transfer.from, to: transfer.to, amount: decimal(transfer.amountMinor), key: transfer.key },
        }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json()) as { data?: { transfer?: { id: string } }; errors?: { extensions?: { code?: string } }[] };
      const id = body.data?.transfer?.id;
      if (id) {
        transfer.id = id;
        return;
      }
      const code = body.errors?.[0]?.extensions?.code;
      if (code && code !== 'INTERNAL' && code !== 'RATE_LIMITED') {
        transfer.refused = code;
        return;
      }
    } catch {
      // No answer (the process was killed, the connection refused or reset): ask again.
    }
    if (Date.now() > giveUpAtMs) throw new Error(`no definite answer for ${transfer.key} after ${transfer.attempts} attempts`);
    await sleep(30 + Math.random() * 120);
  }
}

export interface LedgerFacts {
  transactions: number;
  duplicatedMemos: number;
  balances: Map<string, bigint>;
}

/** What the database itself holds, read directly: counts, duplicates by memo, posted balances. */
export async function ledgerFacts(sql: Client): Promise<LedgerFacts> {
  const [count] = (await sql.query<{ n: string }>('SELECT count(*) AS n FROM transactions')).rows;
  const [duplicated] = (
    await sql.query<{ n: string }>('SELECT count(*) AS n FROM (SELECT memo FROM transactions GROUP BY memo HAVING count(*) > 1) d')
  ).rows;
  const accounts = (await sql.query<{ id: string; posted: string }>('SELECT id, posted_minor::text AS posted FROM accounts')).rows;
  return {
    transactions: Number(count?.n),
    duplicatedMemos: Number(duplicated?.n),
    balances: new Map(accounts.map((a) => [a.id, BigInt(a.posted)])),
  };
}

/** The balance every account must have if each acknowledged transfer posted exactly once. */
export function expectedBalances(transfers: readonly Transfer[]): Map<string, bigint> {
  const balances = new Map<string, bigint>();
  for (const t of transfers) {
    if (!t.id) continue;
    balances.set(t.from, (balances.get(t.from) ?? 0n) - BigInt(t.amountMinor));
    balances.set(t.to, (balances.get(t.to) ?? 0n) + BigInt(t.amountMinor));
  }
  return balances;
}
