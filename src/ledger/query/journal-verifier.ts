import { createHash } from 'node:crypto';
import { compareInstants, isoMicros, parseInstant } from '../../common/instant';
import { canonicalJson, GENESIS_HASH } from '../posting/hash-chain';
import { TRANSACTION_KINDS } from '../posting/posting.types';
import { MAX_POSTINGS_PER_TRANSACTION } from '../posting/posting.rules';
import {
  accountIdOf,
  EXTERNAL_ROOT,
  OTHER_ROOT,
  otherName,
  ACCOUNTS_HEADING,
  byName,
  CLOSING_DESCRIPTION,
  commodityDirective,
  commoditySymbol,
  DECIMAL_MARK_DIRECTIVE,
  HASH_INPUT_PREFIX,
  type JournalCommodity,
  journalDate,
  type JournalLine,
  type JournalTransaction,
  OPENING_DESCRIPTION,
  OWN_ROOT,
  renderAccounts,
  renderClosing,
  renderOpening,
  renderTransaction,
  SEAL_PREFIX,
} from './hledger-journal';

/**
 * Verifies an exported hledger journal from the file alone, without the service:
 *
 * 1. every transaction's hash input hashes (SHA-256) to the hash the journal gives it;
 * 2. each transaction links to the one before it (`previousHash`) wherever the file holds two
 *    consecutive sequences, and the first transaction of the ledger links to the genesis hash;
 * 3. everything hledger reads of a transaction (date, description, tags, postings and amounts) is
 *    exactly what its hashed content says, written again and compared byte for byte;
 * 4. the opening balances plus the postings equal every closing balance assertion, and every
 *    transaction balances;
 * 5. the seal at the end is the SHA-256 of all text above it, so no byte anywhere (header and
 *    account names included) changed since export, and the file is complete.
 *
 * What it cannot prove alone: that a transaction omitted between two non-consecutive sequences
 * (normally one of another currency or of accounts outside the export) belonged elsewhere, that
 * the opening balances are right (they come from earlier history: verify an export from the first
 * transaction for that), and that the chain is the service's rather than a forger's who rewrote
 * every hash and the seal: compare the last hash with the ledger's (`transaction(id) { hash }`,
 * `verifyLedger`, or a later export). See docs/hash-chain.md.
 */

export interface JournalVerification {
  readonly ok: boolean;
  /** The first problem found, in words, with its line number. */
  readonly problem: string | null;
  readonly currency: string | null;
  readonly transactions: number;
  readonly firstSequence: string | null;
  readonly lastSequence: string | null;
  /** Pairs of consecutive sequences whose link was checked (plus the link to genesis at #1). */
  readonly linksChecked: number;
  /** Places where the file skips sequences (transactions it does not include). */
  readonly gaps: number;
  readonly firstPreviousHash: string | null;
  readonly lastHash: string | null;
  readonly accounts: number;
  readonly assertions: number;
  readonly hasOpeningBalances: boolean;
}

class Problem extends Error {}

interface Block {
  /** 0-based index of the block's first line. */
  readonly start: number;
  readonly lines: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const SEAL = /^(\d+) transactions; SHA-256 of all text above this line: ([0-9a-f]{64})$/;
const POSTING = /^ {4}(\S.*?) {2}(-?\d+(?:\.\d+)?) (\S+)$/;
const DATED = /^(\d{4}-\d{2}-\d{2}) \* (.*)$/;
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What verifyLedger checks of each transaction's postings: count, numbering, sequence, no zero, each account once. */
function postingShapeProblem(tx: JournalTransaction): string | null {
  if (tx.postings.length < 2) return 'has fewer than two postings';
  if (tx.postings.length > MAX_POSTINGS_PER_TRANSACTION) return `has more than ${MAX_POSTINGS_PER_TRANSACTION} postings`;
  const seen = new Set<string>();
  for (const [index, p] of tx.postings.entries()) {
    if (p.idx !== index) return `has its postings numbered out of order (posting ${index} is numbered ${p.idx})`;
    if (p.sequence !== tx.sequence) return `has a posting of account ${p.accountId} that records sequence #${p.sequence}`;
    if (p.amountMinor === 0n) return `has a posting of zero to account ${p.accountId}`;
    if (seen.has(p.accountId)) return `posts to account ${p.accountId} twice`;
    seen.add(p.accountId);
  }
  return null;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function toMinorStrict(text: string, scale: number): bigint {
  const [whole = '', fraction = ''] = text.replace('-', '').split('.');
  const value = BigInt(whole + fraction.padEnd(scale, '0'));
  return text.startsWith('-') ? -value : value;
}

export function verifyJournal(text: string): JournalVerification {
  const checker = new JournalChecker(text);
  try {
    checker.run();
    return checker.result(null);
  } catch (error) {
    if (error instanceof Problem) return checker.result(error.message);
    throw error;
  }
}

class JournalChecker {
  private lines: string[] = [];
  private commodity: JournalCommodity | null = null;
  private readonly names = new Map<string, string>();
  private readonly balances = new Map<string, bigint>();
  private readonly used = new Set<string>();
  private transactions = 0;
  private firstSequence: bigint | null = null;
  private lastSequence: bigint | null = null;
  private lastHash: string | null = null;
  private firstPreviousHash: string | null = null;
  private lastDate: string | null = null;
  private lastPostedAt: Date | null = null;
  private lastVersion: number | null = null;
  /** Accounts of other currencies (`other:<CODE>:<id>`): id to currency. */
  private readonly others = new Map<string, string>();
  private linksChecked = 0;
  private gaps = 0;
  private assertions = 0;
  private hasOpening = false;

  constructor(private readonly text: string) {}

  result(problem: string | null): JournalVerification {
    return {
      ok: problem === null,
      problem,
      currency: this.commodity?.code ?? null,
      transactions: this.transactions,
      firstSequence: this.firstSequence?.toString() ?? null,
      lastSequence: this.lastSequence?.toString() ?? null,
      linksChecked: this.linksChecked,
      gaps: this.gaps,
      firstPreviousHash: this.firstPreviousHash,
      lastHash: this.lastHash,
      accounts: this.used.size,
      assertions: this.assertions,
      hasOpeningBalances: this.hasOpening,
    };
  }

  run(): void {
    const { body, count, digest } = this.seal();
    this.lines = body.split('\n');
    const blocksStart = this.header();
    const blocks = this.blocks(blocksStart);
    const accounts = blocks.at(-1);
    if (!accounts || accounts.lines[0] !== ACCOUNTS_HEADING)
      this.fail(this.lines.length - 1, 'the account list before the seal is missing');
    this.readAccountNames(accounts);
    const closing = blocks.at(-2);
    if (!closing || !DATED.exec(closing.lines[0] ?? '') || !closing.lines[0]?.endsWith(`* ${CLOSING_DESCRIPTION}`)) {
      this.fail(closing?.start ?? blocksStart, 'the closing balances are missing before the account list');
    }
    for (const [index, block] of blocks.slice(0, -2).entries()) {
      if (block.lines[0]?.startsWith(HASH_INPUT_PREFIX)) this.transaction(block);
      else if (index === 0 && /^\d{4}-\d{2}-\d{2} \* /.test(block.lines[0] ?? '') && block.lines[0]?.endsWith(OPENING_DESCRIPTION)) {
        this.opening(block);
      } else this.fail(block.start, 'expected a transaction starting with its hash input line');
    }
    this.closing(closing);
    this.expectBlock(accounts, renderAccounts([...this.used].sort(byName)), 'the account list does not match the accounts used');
    if (count !== this.transactions) {
      this.fail(this.lines.length, `the seal counts ${count} transactions but the journal holds ${this.transactions}`);
    }
    if (sha256(body) !== digest) {
      this.fail(this.lines.length, 'the seal does not match the text above it: the file was changed after it was exported');
    }
  }

  private fail(lineIndex: number, message: string): never {
    throw new Problem(`line ${lineIndex + 1}: ${message}`);
  }

  /** The last line: count and digest of everything above it. */
  private seal(): { body: string; count: number; digest: string } {
    if (!this.text.endsWith('\n')) throw new Problem('the journal is incomplete: it does not end with its seal line');
    const start = this.text.lastIndexOf('\n', this.text.length - 2) + 1;
    const line = this.text.slice(start, -1);
    const match = line.startsWith(SEAL_PREFIX) ? SEAL.exec(line.slice(SEAL_PREFIX.length)) : null;
    if (!match) throw new Problem('the journal is incomplete: its last line is not the seal written at the end of every export');
    return { body: this.text.slice(0, start), count: Number(match[1]), digest: match[2] as string };
  }

  /** Header comments, the decimal mark and the commodity; returns the index of the first block. */
  private header(): number {
    let i = 0;
    while (this.lines[i]?.startsWith('#')) i++;
    if (this.lines[i] !== DECIMAL_MARK_DIRECTIVE) this.fail(i, `expected "${DECIMAL_MARK_DIRECTIVE}" after the header comments`);
    i++;
    const match = /^commodity 0\.(0*) ("?)([A-Z0-9_]{2,12})\2$/.exec(this.lines[i] ?? '');
    if (!match) this.fail(i, 'expected the commodity directive of the currency, such as "commodity 0.00 HOUR"');
    this.commodity = { code: match[3] as string, scale: (match[1] as string).length };
    if (commodityDirective(this.commodity) !== this.lines[i]) this.fail(i, 'the commodity directive is not written as exported');
    if (this.lines[i + 1] !== '') this.fail(i + 1, 'expected a blank line after the commodity directive');
    return i + 2;
  }

  /** Blocks of non-blank lines, each followed by exactly one blank line. */
  private blocks(start: number): Block[] {
    const blocks: Block[] = [];
    let i = start;
    const last = this.lines.length - 1; // body ends with a newline: the final element is empty
    while (i < last) {
      if (this.lines[i] === '') this.fail(i, 'unexpected blank line');
      const begin = i;
      while (i < last && this.lines[i] !== '') i++;
      blocks.push({ start: begin, lines: this.lines.slice(begin, i) });
      if (this.lines[i] !== '' || i >= last) this.fail(i, 'expected a blank line after each block');
      i++;
    }
    return blocks;
  }

  private readAccountNames(block: Block): void {
    for (const [offset, line] of block.lines.slice(1).entries()) {
      const name = line.startsWith('account ') ? line.slice('account '.length) : null;
      if (!name) this.fail(block.start + 1 + offset, 'expected an account directive');
      const id = accountIdOf(name);
      if (id === undefined) continue;
      if (this.names.has(id) || this.others.has(id)) this.fail(block.start + 1 + offset, `account ${id} is declared twice`);
      const other = new RegExp(`^${OTHER_ROOT}:([A-Z0-9_]{2,12}):`).exec(name)?.[1];
      if (other === this.commodity?.code)
        this.fail(block.start + 1 + offset, `account ${id} is declared as of another currency, but it is this journal's`);
      if (other === undefined) this.names.set(id, name);
      else this.others.set(id, other);
    }
  }

  /** The date of a dated block's first line, which must be a real calendar day. */
  private dateOf(block: Block): string {
    const date = DATED.exec(block.lines[0] ?? '')?.[1];
    if (!date || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
      this.fail(block.start, 'expected a valid date');
    }
    return date;
  }

  private opening(block: Block): void {
    const date = this.dateOf(block);
    const lines = block.lines.slice(2).map((line, offset) => this.posting(line, block.start + 2 + offset));
    this.expectBlock(
      block,
      renderOpening(date, lines, this.commodity as JournalCommodity),
      'the opening balances are not written as exported',
    );
    if (lines.reduce((s, l) => s + l.amountMinor, 0n) !== 0n) this.fail(block.start, 'the opening balances do not sum to zero');
    for (const line of lines) this.add(line.name, line.amountMinor);
    this.lastDate = date;
    this.hasOpening = true;
  }

  private posting(line: string, index: number): JournalLine {
    const match = POSTING.exec(line);
    const commodity = this.commodity as JournalCommodity;
    if (!match || match[3] !== commoditySymbol(commodity.code)) this.fail(index, `expected a posting in ${commodity.code}`);
    return { name: match[1] as string, amountMinor: toMinorStrict(match[2] as string, commodity.scale) };
  }

  private add(name: string, amountMinor: bigint): void {
    this.used.add(name);
    this.balances.set(name, (this.balances.get(name) ?? 0n) + amountMinor);
  }

  private transaction(block: Block): void {
    const payloadText = (block.lines[0] as string).slice(HASH_INPUT_PREFIX.length);
    const tx = this.parsePayload(payloadText, block.start);
    const label = `transaction #${tx.sequence} (${tx.id})`;
    const stated = /^ {4}; hash:([0-9a-f]{64}), previous:/.exec(block.lines[3] ?? '')?.[1];
    if (stated !== tx.hash)
      this.fail(block.start, `${label}: its content does not match its hash (SHA-256 of the hash input is ${tx.hash})`);
    if (this.lastVersion === 2 && tx.hashVersion === 1)
      this.fail(block.start, `${label} is hashed under version 1 after a version-2 transaction`);
    this.lastVersion = tx.hashVersion;
    this.link(tx, block.start, label);
    this.expectBlock(
      block,
      renderTransaction(tx, this.names, this.commodity as JournalCommodity),
      `${label} is not written as its hashed content says`,
    );
    const shape = postingShapeProblem(tx);
    if (shape) this.fail(block.start, `${label} ${shape}`);
    this.applyPostings(tx, block.start, label);
    if (this.lastPostedAt !== null && compareInstants(tx.postedAt, this.lastPostedAt) < 0) {
      this.fail(block.start + 1, `${label} is dated before the transaction above it`);
    }
    const date = journalDate(tx.postedAt);
    if (this.lastDate !== null && date < this.lastDate) this.fail(block.start + 1, `${label} is dated before the entry above it`);
    this.lastDate = date;
    this.lastPostedAt = tx.postedAt;
    this.transactions++;
  }

  /**
   * Every posting names a declared account: of this currency (its running balance followed, and
   * checked against what version 2 stores on it wherever the account's earlier balance is known)
   * or of another (`other:`). The transaction balances in each currency and touches this one.
   */
  private applyPostings(tx: JournalTransaction, index: number, label: string): void {
    const sums = new Map<string, bigint>();
    let own = 0;
    for (const posting of tx.postings) {
      const name = this.names.get(posting.accountId);
      const other = this.others.get(posting.accountId);
      if (name === undefined && other === undefined) {
        this.fail(index, `${label} has a posting of account ${posting.accountId}, which the journal does not declare`);
      }
      const currency = name === undefined ? (other as string) : (this.commodity as JournalCommodity).code;
      sums.set(currency, (sums.get(currency) ?? 0n) + posting.amountMinor);
      if (name === undefined) {
        this.used.add(otherName(currency, posting.accountId));
        continue;
      }
      own++;
      this.add(name, posting.amountMinor);
      const known = !name.startsWith(`${EXTERNAL_ROOT}:`);
      if (known && tx.hashVersion === 2 && this.balances.get(name) !== posting.balanceAfterMinor) {
        this.fail(
          index,
          `${label} records a running balance of ${posting.balanceAfterMinor} for ${name}, but the postings above make it ${this.balances.get(name)}`,
        );
      }
    }
    if (own === 0) this.fail(index, `${label} has no posting in ${this.commodity?.code}, yet it is in its journal`);
    for (const [currency, sum] of sums) {
      if (sum !== 0n) this.fail(index, `${label} does not balance in ${currency}`);
    }
  }

  private link(tx: JournalTransaction, index: number, label: string): void {
    if (this.lastSequence !== null && tx.sequence <= this.lastSequence) {
      this.fail(index, `${label} comes after #${this.lastSequence}: transactions must be in increasing sequence, each once`);
    }
    if (this.lastSequence !== null && tx.sequence === this.lastSequence + 1n) {
      if (tx.previousHash !== this.lastHash) this.fail(index, `${label} does not link to the hash of #${this.lastSequence} above it`);
      this.linksChecked++;
    } else if (tx.sequence === 1n) {
      if (tx.previousHash !== GENESIS_HASH) this.fail(index, `${label} is the first of the ledger but does not link to the genesis hash`);
      this.linksChecked++;
    } else if (this.lastSequence !== null) {
      this.gaps++;
    }
    this.firstSequence ??= tx.sequence;
    this.firstPreviousHash ??= tx.previousHash;
    this.lastSequence = tx.sequence;
    this.lastHash = tx.hash;
  }

  /** The hash input: the canonical JSON array of docs/hash-chain.md (version 1 or 2), checked field by field. */
  private parsePayload(text: string, index: number): JournalTransaction {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.fail(index, 'the hash input is not valid JSON');
    }
    if (canonicalJson(value) !== text) this.fail(index, 'the hash input is not in canonical form');
    const bad = (what: string): never => this.fail(index, `the hash input has an invalid ${what}`);
    if (!Array.isArray(value)) return bad('shape');
    const version: unknown = value[0];
    if (version === 1 && value.length === 11) return this.parseV1(value as unknown[], text, bad);
    if (version === 2 && value.length === 13) return this.parseV2(value as unknown[], text, bad);
    return bad(version === 1 || version === 2 ? 'shape' : 'version');
  }

  /** The fields both recipes share, each checked. */
  private commonFields(fields: readonly unknown[], bad: (what: string) => never, exactTime: (t: string) => boolean) {
    const [, sequence, id, kind, postedAt, previousHash, memo] = fields;
    if (typeof sequence !== 'string' || !/^[1-9]\d{0,18}$/.test(sequence)) return bad('sequence');
    if (typeof id !== 'string' || !UUID.test(id)) return bad('id');
    if (typeof kind !== 'string' || !(TRANSACTION_KINDS as readonly string[]).includes(kind)) return bad('kind');
    if (typeof postedAt !== 'string' || !exactTime(postedAt)) return bad('time');
    if (typeof previousHash !== 'string' || !HEX64.test(previousHash)) return bad('previous hash');
    if (memo !== null && typeof memo !== 'string') bad('memo');
    return { sequence: BigInt(sequence), id, kind, postedAtText: postedAt, previousHash, memo: memo };
  }

  private parseV1(fields: unknown[], text: string, bad: (what: string) => never): JournalTransaction {
    const common = this.commonFields(fields, bad, (t) => !Number.isNaN(Date.parse(t)) && new Date(t).toISOString() === t);
    const [, , , , , , , metadata, externalRef, reversesId, postings] = fields;
    const ref = this.optionalText(externalRef, bad, 'external reference');
    const reverses = this.optionalUuid(reversesId, bad, 'reversed transaction');
    if (!Array.isArray(postings)) return bad('postings');
    const parsed = postings.map((p: unknown, idx) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || !UUID.test(p[0])) return bad('posting');
      if (typeof p[1] !== 'string' || !/^-?\d{1,19}$/.test(p[1])) return bad('posting amount');
      return { idx, accountId: p[0], amountMinor: BigInt(p[1]), balanceAfterMinor: 0n, sequence: common.sequence };
    });
    return {
      ...common,
      hashVersion: 1,
      networkId: '',
      postedAt: new Date(common.postedAtText),
      metadata,
      metadataText: null,
      externalRef: ref,
      reversesId: reverses,
      apiKeyId: null,
      postings: parsed,
      hash: sha256(text),
    };
  }

  /** Version 2: the network, then the fields of version 1's positions, the API key and the full postings. */
  private parseV2(all: unknown[], text: string, bad: (what: string) => never): JournalTransaction {
    const [, networkId, ...rest] = all;
    if (typeof networkId !== 'string' || !UUID.test(networkId)) return bad('network');
    const fields = [2, ...rest];
    const common = this.commonFields(fields, bad, exactIsoMicros);
    const [, , , , , , , metadataText, externalRef, reversesId, apiKeyId, postings] = fields;
    if (metadataText !== null && (typeof metadataText !== 'string' || !isJson(metadataText))) bad('metadata');
    const ref = this.optionalText(externalRef, bad, 'external reference');
    const reverses = this.optionalUuid(reversesId, bad, 'reversed transaction');
    const apiKey = this.optionalUuid(apiKeyId, bad, 'API key');
    if (!Array.isArray(postings)) return bad('postings');
    const parsed = postings.map((p: unknown) => {
      if (!Array.isArray(p) || p.length !== 5 || typeof p[0] !== 'number' || typeof p[1] !== 'string' || !UUID.test(p[1])) {
        return bad('posting');
      }
      const [idx, accountId, amount, balanceAfter, sequence] = p as [number, string, unknown, unknown, unknown];
      if (typeof amount !== 'string' || !/^-?\d{1,19}$/.test(amount)) return bad('posting amount');
      if (typeof balanceAfter !== 'string' || !/^-?\d{1,19}$/.test(balanceAfter)) return bad('posting balance');
      if (typeof sequence !== 'string' || !/^[1-9]\d{0,18}$/.test(sequence)) return bad('posting sequence');
      return { idx, accountId, amountMinor: BigInt(amount), balanceAfterMinor: BigInt(balanceAfter), sequence: BigInt(sequence) };
    });
    return {
      ...common,
      hashVersion: 2,
      networkId,
      postedAt: parseInstant(common.postedAtText),
      metadata: null,
      metadataText: metadataText,
      externalRef: ref,
      reversesId: reverses,
      apiKeyId: apiKey,
      postings: parsed,
      hash: sha256(text),
    };
  }

  private optionalText(value: unknown, bad: (what: string) => never, what: string): string | null {
    if (value !== null && typeof value !== 'string') bad(what);
    return value;
  }

  private optionalUuid(value: unknown, bad: (what: string) => never, what: string): string | null {
    if (value !== null && (typeof value !== 'string' || !UUID.test(value))) bad(what);
    return value;
  }

  private closing(block: Block): void {
    const date = this.dateOf(block);
    if (this.lastDate !== null && date !== this.lastDate)
      this.fail(block.start, `the closing balances must be dated ${this.lastDate}, the day of the last entry`);
    const own = [...this.used].filter((name) => name.startsWith(`${OWN_ROOT}:`)).sort(byName);
    const lines = own.map((name) => ({ name, amountMinor: this.balances.get(name) ?? 0n }));
    const expected = renderClosing(date, lines, this.commodity as JournalCommodity);
    this.expectBlock(block, expected, 'a closing balance assertion differs from the opening balances plus the postings above');
    this.assertions = lines.length;
  }

  /** Compares a block with the text expected for it, naming the first line that differs. */
  private expectBlock(block: Block, expected: string, message: string): void {
    const want = expected.replace(/\n\n$/, '').split('\n');
    const length = Math.max(want.length, block.lines.length);
    for (let i = 0; i < length; i++) {
      if (want[i] !== block.lines[i]) {
        const found = block.lines[i] === undefined ? 'nothing' : JSON.stringify(block.lines[i]);
        const wanted = want[i] === undefined ? 'nothing' : JSON.stringify(want[i]);
        this.fail(block.start + i, `${message}: expected ${wanted}, found ${found}`);
      }
    }
  }
}

/**
 * Whether a text is an instant printed exactly as `isoMicros` prints it. A text of the right
 * shape may still name no date (a changed byte can make the day 91 or the hour 29): that is a
 * refusal, like any other bad field, and never an exception from printing an invalid date.
 */
function exactIsoMicros(text: string): boolean {
  if (!ISO_MICROS.test(text)) return false;
  const instant = parseInstant(text);
  return !Number.isNaN(instant.getTime()) && isoMicros(instant) === text;
}
