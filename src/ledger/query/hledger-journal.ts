import { createHash } from 'node:crypto';
import { fromMinor } from '../money/amount';
import { hashPayloadV1, hashPayloadV2 } from '../posting/hash-chain';

/**
 * The hledger journal an export writes, as pure functions of the ledger's data. The exporter
 * uses them to write a journal and the offline verifier (`npm run verify`) to write it again from
 * what the file says and compare byte for byte, so that every byte of a journal is either hashed
 * content, derived from hashed content, or covered by the seal at its end. See docs/reports.md
 * for the layout and docs/hash-chain.md for the recipe.
 *
 * hledger reads: `decimal-mark` and `commodity` directives; one transaction per block, dated by
 * the UTC day of its posting time; two spaces between an account name and its amount; a closing
 * transaction of balance assertions; `account` directives for every account used. Lines starting
 * with `#` at column 0 are comments hledger ignores entirely, which is where the machine-readable
 * hash input lives (a `;` comment inside a transaction would be read for tags).
 */

export const HASH_INPUT_PREFIX = '# hash-input: ';
export const SEAL_PREFIX = '# end of export: ';
export const DECIMAL_MARK_DIRECTIVE = 'decimal-mark .';
export const OPENING_DESCRIPTION = 'opening balances';
export const CLOSING_DESCRIPTION = 'closing balances';
export const ACCOUNTS_HEADING = '# accounts';
/** The account that balances the opening of an export limited to some accounts. */
export const OPENING_EQUITY_ACCOUNT = 'equity:opening balances';
/** Accounts the caller may read; others touched by the same transactions are `external:`. */
export const OWN_ROOT = 'assets';
export const EXTERNAL_ROOT = 'external';
/**
 * Accounts of another currency that share a transaction with this journal's: declared (as
 * `other:<CODE>:<account id>`) so that every posting of every hash input names a declared
 * account, but never written as postings (hledger sees only this journal's currency).
 */
export const OTHER_ROOT = 'other';

const INDENT = '    ';

export interface JournalCommodity {
  readonly code: string;
  readonly scale: number;
}

export interface JournalPosting {
  readonly idx: number;
  readonly accountId: string;
  readonly amountMinor: bigint;
  /** The running balance stored on the posting (hashed from version 2 on). */
  readonly balanceAfterMinor: bigint;
  /** The sequence stored on the posting (hashed from version 2 on). */
  readonly sequence: bigint;
}

/** A transaction as exported: every column its recipe hashes, the recipe, and the hash stored for it. */
export interface JournalTransaction {
  readonly hashVersion: number;
  /** Hashed from version 2 on (empty under version 1). */
  readonly networkId: string;
  readonly id: string;
  readonly sequence: bigint;
  readonly kind: string;
  readonly postedAt: Date;
  readonly previousHash: string;
  readonly memo: string | null;
  /** Version 1 hashes the metadata's canonical JSON. */
  readonly metadata: unknown;
  /** Version 2 hashes the metadata as jsonb stores it. */
  readonly metadataText: string | null;
  readonly externalRef: string | null;
  readonly reversesId: string | null;
  readonly apiKeyId: string | null;
  readonly postings: readonly JournalPosting[];
  readonly hash: string;
}

/** The exact text that was hashed, under the transaction's own recipe (docs/hash-chain.md). */
export function hashInput(tx: JournalTransaction): string {
  if (tx.hashVersion === 1) return hashPayloadV1(tx);
  if (tx.hashVersion === 2) return hashPayloadV2(tx);
  throw new Error(`transaction ${tx.id} names the unknown hash recipe ${tx.hashVersion}`);
}

export interface JournalLine {
  readonly name: string;
  readonly amountMinor: bigint;
}

/** hledger reads a commodity symbol with digits only when it is quoted. */
export function commoditySymbol(code: string): string {
  return /^[A-Za-z_]+$/.test(code) ? code : `"${code}"`;
}

export function amountText(minor: bigint, commodity: JournalCommodity): string {
  return `${fromMinor(minor, commodity.scale)} ${commoditySymbol(commodity.code)}`;
}

/** `commodity 0.00 HOUR`: declares the symbol, the decimal mark and the number of decimals. */
export function commodityDirective(commodity: JournalCommodity): string {
  const zero = commodity.scale === 0 ? '0.' : `0.${'0'.repeat(commodity.scale)}`;
  return `commodity ${zero} ${commoditySymbol(commodity.code)}`;
}

/**
 * Text that hledger would misread, made safe for an account name or a description: whitespace
 * runs (two spaces end an account name, a newline ends the line) become one space, `;` (starts a
 * comment) becomes `,`, and in account names `:` (separates sub-accounts) becomes `-`.
 */
export function safeText(text: string, forAccountName: boolean): string {
  let clean = text.replace(/\s+/gu, ' ').replaceAll(';', ',');
  if (forAccountName) clean = clean.replaceAll(':', '-');
  return clean.trim();
}

/** `assets:<party name>:<account id>`; the id keeps names unique and lets the verifier map them. */
export function accountName(root: string, partyName: string, accountId: string): string {
  return `${root}:${safeText(partyName, true) || 'unnamed'}:${accountId}`;
}

/** `other:<CODE>:<account id>`: an account of another currency in one of this journal's transactions. */
export function otherName(currencyCode: string, accountId: string): string {
  return `${OTHER_ROOT}:${currencyCode}:${accountId}`;
}

/** The account id at the end of an account name, if it ends with one. */
export function accountIdOf(name: string): string | undefined {
  const match = /:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(name);
  return match?.[1];
}

export function journalDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

function tagValue(text: string): string {
  return safeText(text, false).replaceAll(',', ' ').replace(/ +/g, ' ').trim();
}

function postingLine(name: string, amountMinor: bigint, commodity: JournalCommodity): string {
  return `${INDENT}${name}  ${amountText(amountMinor, commodity)}`;
}

/**
 * One transaction block: the hash input line, the transaction with its tags, the postings of
 * this journal's currency (those whose account is in `names`), and a blank line.
 */
export function renderTransaction(tx: JournalTransaction, names: ReadonlyMap<string, string>, commodity: JournalCommodity): string {
  const memo = tx.memo === null ? '' : safeText(tx.memo, false);
  const lines = [
    HASH_INPUT_PREFIX + hashInput(tx),
    `${journalDate(tx.postedAt)} * (${tx.sequence}) ${tx.kind}${memo ? ` | ${memo}` : ''}`,
    `${INDENT}; seq:${tx.sequence}, kind:${tx.kind}, id:${tx.id}`,
    `${INDENT}; hash:${tx.hash}, previous:${tx.previousHash}`,
  ];
  if (tx.externalRef !== null) lines.push(`${INDENT}; ref:${tagValue(tx.externalRef)}`);
  if (tx.reversesId !== null) lines.push(`${INDENT}; reverses:${tx.reversesId}`);
  for (const posting of tx.postings) {
    const name = names.get(posting.accountId);
    if (name !== undefined) lines.push(postingLine(name, posting.amountMinor, commodity));
  }
  return lines.join('\n') + '\n\n';
}

/** Balances carried into the period, dated its first day. */
export function renderOpening(date: string, lines: readonly JournalLine[], commodity: JournalCommodity): string {
  const body = lines.map((line) => postingLine(line.name, line.amountMinor, commodity));
  return [`${date} * ${OPENING_DESCRIPTION}`, `${INDENT}; balances carried from before this period`, ...body].join('\n') + '\n\n';
}

/** One balance assertion per account the caller may read: its posted balance at the end of the period. */
export function renderClosing(date: string, lines: readonly JournalLine[], commodity: JournalCommodity): string {
  const zero = amountText(0n, commodity);
  const body = lines.map((line) => `${INDENT}${line.name}  ${zero} = ${amountText(line.amountMinor, commodity)}`);
  return (
    [`${date} * ${CLOSING_DESCRIPTION}`, `${INDENT}; balance assertions: each posted balance at the end of this period`, ...body].join(
      '\n',
    ) + '\n\n'
  );
}

export function renderAccounts(names: readonly string[]): string {
  return [ACCOUNTS_HEADING, ...names.map((name) => `account ${name}`)].join('\n') + '\n\n';
}

export function renderSeal(transactions: number, sha256Hex: string): string {
  return `${SEAL_PREFIX}${transactions} transactions; SHA-256 of all text above this line: ${sha256Hex}\n`;
}

/** Orders account names as the closing and the account list do. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A posting as the writer receives it: with its account's currency and holder. */
export interface WriterPosting extends JournalPosting {
  readonly currencyCode: string;
  readonly partyName: string;
}

export interface WriterTransaction extends JournalTransaction {
  readonly postings: readonly WriterPosting[];
}

/**
 * Writes one journal piece by piece, in order: header, opening balances, transactions, then the
 * closing assertions, account list and seal. It names each account of the journal's currency the
 * first time it appears (`assets:` when the caller may read it, `external:` otherwise), keeps the
 * running SHA-256 for the seal, and remembers only names, never transactions, so memory stays
 * bounded by the number of accounts however long the journal.
 */
export class JournalWriter {
  private readonly names = new Map<string, string>();
  private readonly own = new Set<string>();
  private readonly used = new Set<string>();
  private readonly seal = createHash('sha256');
  private transactions = 0;
  private lastDate: string | null = null;

  constructor(
    private readonly commodity: JournalCommodity,
    private readonly mayRead: (accountId: string) => boolean,
  ) {}

  /** Header comments (one per line, without the leading `# `) and the directives. */
  header(comments: readonly string[]): string {
    const text = [
      ...comments.map((c) => `# ${c.replace(/\s+/gu, ' ')}`),
      DECIMAL_MARK_DIRECTIVE,
      commodityDirective(this.commodity),
      '',
      '',
    ].join('\n');
    return this.emit(text);
  }

  /**
   * Balances carried into the period, dated `date`. When the journal holds only some accounts,
   * `equity:opening balances` balances them; over a whole currency they must sum to zero.
   */
  opening(date: string, rows: readonly { accountId: string; partyName: string; amountMinor: bigint }[], partial: boolean): string {
    const lines: JournalLine[] = rows
      .filter((row) => row.amountMinor !== 0n)
      .map((row) => ({ name: this.nameOf(row.accountId, row.partyName), amountMinor: row.amountMinor }))
      .sort((a, b) => byName(a.name, b.name));
    if (lines.length === 0) return '';
    const sum = lines.reduce((s, line) => s + line.amountMinor, 0n);
    if (sum !== 0n) {
      if (!partial) throw new Error(`${this.commodity.code} opening balances sum to ${sum} minor units, not zero`);
      lines.push({ name: OPENING_EQUITY_ACCOUNT, amountMinor: -sum });
    }
    lines.forEach((line) => this.used.add(line.name));
    this.lastDate = date;
    return this.emit(renderOpening(date, lines, this.commodity));
  }

  transaction(tx: WriterTransaction): string {
    for (const p of tx.postings) {
      if (p.currencyCode === this.commodity.code) this.used.add(this.nameOf(p.accountId, p.partyName));
      else this.used.add(otherName(p.currencyCode, p.accountId));
    }
    this.transactions++;
    this.lastDate = journalDate(tx.postedAt);
    return this.emit(renderTransaction(tx, this.names, this.commodity));
  }

  /** The accounts the closing assertions are about: every account the caller may read that appeared. */
  ownAccounts(): string[] {
    return [...this.own];
  }

  /**
   * The closing balance assertions (the posted balance of each own account at the end of the
   * period), dated the day of the last entry (or `fallback` for an empty journal), the account
   * list and the seal.
   */
  close(balances: ReadonlyMap<string, bigint>, fallback: Date): string {
    const closing = [...this.own]
      .map((id) => ({ name: this.names.get(id) as string, amountMinor: balances.get(id) ?? 0n }))
      .sort((a, b) => byName(a.name, b.name));
    const body = this.emit(renderClosing(this.lastDate ?? journalDate(fallback), closing, this.commodity));
    const accounts = this.emit(renderAccounts([...this.used].sort(byName)));
    return body + accounts + renderSeal(this.transactions, this.seal.digest('hex'));
  }

  private nameOf(accountId: string, partyName: string): string {
    const known = this.names.get(accountId);
    if (known !== undefined) return known;
    const mine = this.mayRead(accountId);
    const name = accountName(mine ? OWN_ROOT : EXTERNAL_ROOT, partyName, accountId);
    this.names.set(accountId, name);
    if (mine) this.own.add(accountId);
    return name;
  }

  private emit(text: string): string {
    this.seal.update(text);
    return text;
  }
}
