import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CsvProblem, decodeUtf8, parseCsv, withHeader } from './csv-reader';

/**
 * Reads and checks the three files of an import (SPEC B.6) before anything is sent: every row is
 * checked, and every problem found is named `file:line`. Balances are replayed in date order
 * against each account's bounds, so history that the ledger would refuse halfway is refused here,
 * before the first transaction is posted.
 */
export interface CurrencyInfo {
  readonly scale: number;
  readonly kind: 'TIME' | 'MONEY';
  readonly defaultCreditLimit: string | null;
  readonly defaultMaxBalance: string | null;
}

export interface PlannedParty {
  readonly ref: string;
  readonly kind: string;
  readonly name: string;
  readonly handle: string | null;
}
export interface PlannedAccount {
  readonly ref: string;
  readonly partyRef: string;
  readonly currency: string;
  readonly creditLimit: string | null;
  readonly maxBalance: string | null;
}
export interface PlannedTransaction {
  readonly line: number;
  readonly ref: string;
  readonly postedAt: Date;
  readonly kind: string;
  readonly memo: string | null;
  readonly fromAccountRef: string;
  readonly toAccountRef: string;
  readonly amount: string;
}
export interface ImportPlan {
  readonly parties: PlannedParty[];
  readonly accounts: PlannedAccount[];
  readonly transactions: PlannedTransaction[];
}

export const FILES = {
  parties: ['ref', 'kind', 'name', 'handle'],
  accounts: ['ref', 'party_ref', 'currency', 'credit_limit', 'max_balance'],
  transactions: ['ref', 'date', 'kind', 'memo', 'from_account_ref', 'to_account_ref', 'amount'],
} as const;

const PARTY_KINDS = new Set(['MEMBER', 'COOPERATIVE', 'CREDIT_UNION', 'LAND_TRUST', 'COMMUNITY']);
const TRANSACTION_KINDS = new Set(['TRANSFER', 'EXCHANGE', 'ADJUSTMENT']);
const MAX_FILE_BYTES = 512 * 1024 * 1024;
const MAX_POSTING_MINOR = 10n ** 15n;
const MAX_BOUND_MINOR = 10n ** 18n;
/** Problems listed at most; a file with more is wrong throughout. */
const MAX_PROBLEMS = 50;
/** ISO-8601: a date, or a date and time with seconds (fraction optional) and Z or an offset. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

class Problems {
  readonly list: string[] = [];
  add(file: string, line: number, why: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(`${file}:${line}: ${why}`);
    else if (this.list.length === MAX_PROBLEMS) this.list.push('… more problems not shown');
  }
}

function readRows(dir: string, name: keyof typeof FILES) {
  const file = `${name}.csv`;
  const path = join(dir, file);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new CsvProblem(file, 0, `missing: ${path}`);
  }
  if (size > MAX_FILE_BYTES) throw new CsvProblem(file, 0, `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
  return withHeader(file, parseCsv(file, decodeUtf8(file, readFileSync(path))), FILES[name]);
}

/** Minor units of a decimal text with at most `scale` places, or a reason it is not one. */
export function minorOf(text: string, scale: number): bigint | string {
  const match = /^(\d{1,19})(?:\.(\d+))?$/.exec(text);
  if (!match) return `"${text.slice(0, 40)}" is not an amount (write it like 12.50, no sign, no thousands separator)`;
  const fraction = match[2] ?? '';
  if (fraction.length > scale) return `"${text}" has more than ${scale} decimal places`;
  return BigInt((match[1] as string) + fraction.padEnd(scale, '0'));
}

/** A date of the file as an instant: a date alone is 00:00 UTC; an offset is honoured. */
export function instantOf(text: string): Date | string {
  const m = ISO_DATE.exec(text);
  if (!m) return `"${text.slice(0, 40)}" is not an ISO-8601 date (2024-03-01 or 2024-03-01T14:30:00+01:00)`;
  const [, y, mo, d, h] = m;
  const date = new Date(h === undefined ? `${y}-${mo}-${d}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime()) || (date.toISOString().slice(0, 10) !== `${y}-${mo}-${d}` && h === undefined)) {
    return `"${text}" is not a real date`;
  }
  if (Number.isNaN(date.getTime())) return `"${text}" is not a real date`;
  return date;
}

export function planImport(
  dir: string,
  currencies: ReadonlyMap<string, CurrencyInfo>,
  defaultTimeCreditLimit: string,
  now: Date,
): ImportPlan | { problems: string[] } {
  const problems = new Problems();
  const parties = checkParties(readRows(dir, 'parties'), problems);
  const accounts = checkAccounts(readRows(dir, 'accounts'), new Set(parties.map((p) => p.ref)), currencies, problems);
  const transactions = checkTransactions(readRows(dir, 'transactions'), accounts, currencies, now, problems);
  if (problems.list.length === 0) replayBalances(transactions, accounts, currencies, defaultTimeCreditLimit, problems);
  return problems.list.length > 0 ? { problems: problems.list } : { parties, accounts: [...accounts.values()], transactions };
}

function checkRef(file: string, line: number, ref: string, seen: Map<string, number>, problems: Problems): boolean {
  if (ref.length < 1 || ref.length > 100 || ref.trim() !== ref) {
    problems.add(file, line, 'ref must be 1 to 100 characters without leading or trailing spaces');
    return false;
  }
  const first = seen.get(ref);
  if (first !== undefined) {
    problems.add(file, line, `ref ${ref} is already used on line ${first}`);
    return false;
  }
  seen.set(ref, line);
  return true;
}

function checkParties(rows: { line: number; row: Record<string, string> }[], problems: Problems): PlannedParty[] {
  const file = 'parties.csv';
  const seen = new Map<string, number>();
  const out: PlannedParty[] = [];
  for (const { line, row } of rows) {
    const ref = row.ref ?? '';
    let ok = checkRef(file, line, ref, seen, problems);
    const kind = (row.kind ?? '').trim();
    if (!PARTY_KINDS.has(kind)) ok = fail(problems, file, line, `kind "${kind}" is not one of ${[...PARTY_KINDS].join(', ')}`);
    const name = (row.name ?? '').trim();
    if (name.length < 1 || name.length > 200) ok = fail(problems, file, line, 'name must be 1 to 200 characters');
    const handle = (row.handle ?? '').trim();
    if (handle.length > 100) ok = fail(problems, file, line, 'handle must be at most 100 characters');
    if (ok) out.push({ ref, kind, name, handle: handle === '' ? null : handle });
  }
  return out;
}

function fail(problems: Problems, file: string, line: number, why: string): false {
  problems.add(file, line, why);
  return false;
}

function checkAccounts(
  rows: { line: number; row: Record<string, string> }[],
  partyRefs: ReadonlySet<string>,
  currencies: ReadonlyMap<string, CurrencyInfo>,
  problems: Problems,
): Map<string, PlannedAccount> {
  const file = 'accounts.csv';
  const seen = new Map<string, number>();
  const out = new Map<string, PlannedAccount>();
  for (const { line, row } of rows) {
    const ref = row.ref ?? '';
    let ok = checkRef(file, line, ref, seen, problems);
    const partyRef = row.party_ref ?? '';
    if (!partyRefs.has(partyRef)) ok = fail(problems, file, line, `party_ref ${partyRef} is not a ref of parties.csv`);
    const code = (row.currency ?? '').trim();
    const currency = currencies.get(code);
    if (!currency) ok = fail(problems, file, line, `currency ${code} does not exist in the ledger (create it first)`);
    const bound = (name: 'credit_limit' | 'max_balance'): string | null => {
      const text = (row[name] ?? '').trim();
      if (text === '' || !currency) return null;
      const minor = minorOf(text, currency.scale);
      if (typeof minor === 'string') ok = fail(problems, file, line, `${name}: ${minor}`);
      else if (minor > MAX_BOUND_MINOR) ok = fail(problems, file, line, `${name} is too large`);
      return text;
    };
    const creditLimit = bound('credit_limit');
    const maxBalance = bound('max_balance');
    if (ok) out.set(ref, { ref, partyRef, currency: code, creditLimit, maxBalance });
  }
  return out;
}

function checkTransactions(
  rows: { line: number; row: Record<string, string> }[],
  accounts: ReadonlyMap<string, PlannedAccount>,
  currencies: ReadonlyMap<string, CurrencyInfo>,
  now: Date,
  problems: Problems,
): PlannedTransaction[] {
  const file = 'transactions.csv';
  const seen = new Map<string, number>();
  const out: PlannedTransaction[] = [];
  let previous: { at: Date; line: number } | null = null;
  for (const { line, row } of rows) {
    const ref = row.ref ?? '';
    let ok = checkRef(file, line, ref, seen, problems);
    const at = instantOf((row.date ?? '').trim());
    if (typeof at === 'string') ok = fail(problems, file, line, `date: ${at}`);
    else if (at > now) ok = fail(problems, file, line, `date ${row.date} is in the future`);
    else if (previous && at < previous.at)
      ok = fail(problems, file, line, `date ${row.date} is earlier than line ${previous.line}: rows must be in date order`);
    if (typeof at !== 'string') previous = { at, line };
    const kind = (row.kind ?? '').trim();
    if (!TRANSACTION_KINDS.has(kind)) ok = fail(problems, file, line, `kind "${kind}" is not TRANSFER, EXCHANGE or ADJUSTMENT`);
    const from = accounts.get(row.from_account_ref ?? '');
    const to = accounts.get(row.to_account_ref ?? '');
    if (!from) ok = fail(problems, file, line, `from_account_ref ${row.from_account_ref} is not a ref of accounts.csv`);
    if (!to) ok = fail(problems, file, line, `to_account_ref ${row.to_account_ref} is not a ref of accounts.csv`);
    if (from && to && from === to) ok = fail(problems, file, line, 'from_account_ref and to_account_ref are the same account');
    if (from && to && from.currency !== to.currency)
      ok = fail(problems, file, line, `the accounts hold different currencies (${from.currency}, ${to.currency})`);
    const amount = (row.amount ?? '').trim();
    const scale = from ? currencies.get(from.currency)?.scale : undefined;
    if (scale !== undefined) {
      const minor = minorOf(amount, scale);
      if (typeof minor === 'string') ok = fail(problems, file, line, `amount: ${minor}`);
      else if (minor === 0n) ok = fail(problems, file, line, 'amount must be greater than zero');
      else if (minor > MAX_POSTING_MINOR) ok = fail(problems, file, line, 'amount is larger than one posting may carry');
    }
    const memo = row.memo ?? '';
    if (memo.length > 500) ok = fail(problems, file, line, 'memo must be at most 500 characters');
    if (ok && typeof at !== 'string') {
      out.push({
        line,
        ref,
        postedAt: at,
        kind,
        memo: memo === '' ? null : memo,
        fromAccountRef: from!.ref,
        toAccountRef: to!.ref,
        amount,
      });
    }
  }
  return out;
}

/** Replays balances in file order: the payer stays within its credit limit, the payee under its maximum. */
function replayBalances(
  transactions: readonly PlannedTransaction[],
  accounts: ReadonlyMap<string, PlannedAccount>,
  currencies: ReadonlyMap<string, CurrencyInfo>,
  defaultTimeCreditLimit: string,
  problems: Problems,
): void {
  const balances = new Map<string, bigint>();
  const bounds = new Map<string, { floor: bigint; ceiling: bigint | null }>();
  const boundsOf = (account: PlannedAccount) => {
    let found = bounds.get(account.ref);
    if (!found) {
      const currency = currencies.get(account.currency) as CurrencyInfo;
      const limit = account.creditLimit ?? currency.defaultCreditLimit ?? (currency.kind === 'TIME' ? defaultTimeCreditLimit : '0');
      const max = account.maxBalance ?? currency.defaultMaxBalance;
      found = {
        floor: -(minorOf(limit, currency.scale) as bigint),
        ceiling: max === null ? null : (minorOf(max, currency.scale) as bigint),
      };
      bounds.set(account.ref, found);
    }
    return found;
  };
  for (const t of transactions) {
    const from = accounts.get(t.fromAccountRef) as PlannedAccount;
    const to = accounts.get(t.toAccountRef) as PlannedAccount;
    const minor = minorOf(t.amount, (currencies.get(from.currency) as CurrencyInfo).scale) as bigint;
    const fromBalance = (balances.get(from.ref) ?? 0n) - minor;
    const toBalance = (balances.get(to.ref) ?? 0n) + minor;
    if (fromBalance < boundsOf(from).floor) {
      problems.add('transactions.csv', t.line, `account ${from.ref} would go below its credit limit (set credit_limit in accounts.csv)`);
    } else if (boundsOf(to).ceiling !== null && toBalance > (boundsOf(to).ceiling as bigint)) {
      problems.add('transactions.csv', t.line, `account ${to.ref} would rise above its max_balance`);
    } else {
      balances.set(from.ref, fromBalance);
      balances.set(to.ref, toBalance);
    }
  }
}
