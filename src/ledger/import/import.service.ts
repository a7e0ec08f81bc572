import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { atItem, DomainError, ErrorCode, notFound, validationFailed } from '../../common/domain-error';
import { cleanText } from '../../common/text';
import type { Caller } from '../../identity/caller';
import type { AccountRecord } from '../accounts/account.record';
import { AccountRepository } from '../accounts/account.repository';
import { AccountService } from '../accounts/account.service';
import { toPositiveMinor } from '../money/amount';
import type { PartyRecord } from '../parties/party.record';
import { PartyRepository } from '../parties/party.repository';
import { PartyService } from '../parties/party.service';
import { idempotency } from '../posting/idempotency';
import { PostingService } from '../posting/posting.service';
import type { PostOp, TransactionKind } from '../posting/posting.types';
import { MAX_MEMO_LENGTH } from '../transactions/transaction.service';
import type { ImportAccountInput, ImportBatchResult, ImportPartyInput, ImportTransactionInput } from './import.models';

/** Rows per call: a batch of transactions is one command, posted (or refused) as a whole. */
export const MAX_IMPORT_BATCH = 1000;
export const MAX_REF_LENGTH = 100;
/** The kinds a row of transactions.csv may have (SPEC B.6). */
export const IMPORT_KINDS: readonly TransactionKind[] = ['TRANSFER', 'EXCHANGE', 'ADJUSTMENT'];

/**
 * The ledger's side of `npm run import` (docs/import.md). Parties and accounts get ids derived
 * from their refs, so a second run finds what the first made (also after an interruption) and
 * makes nothing twice; transactions carry their ref as idempotency key and externalRef, and their
 * original date as postedAt, which the posting module accepts only while every transaction of
 * the ledger was imported the same way.
 */
@Injectable()
export class ImportService {
  constructor(
    private readonly parties: PartyService,
    private readonly partyRows: PartyRepository,
    private readonly accounts: AccountService,
    private readonly accountRows: AccountRepository,
    private readonly posting: PostingService,
  ) {}

  async importParties(caller: Caller, rows: readonly ImportPartyInput[]): Promise<ImportBatchResult> {
    checkBatch(rows);
    const ids = rows.map((row, i) => importId(caller, 'PARTY', checkRef(row.ref, `parties.${i}.ref`)));
    const existing = new Map((await this.partyRows.findByIds(caller.networkId, ids)).map((p) => [p.id, p]));
    let created = 0;
    for (const [i, row] of rows.entries()) {
      const id = ids[i] as string;
      const found = existing.get(id);
      if (found) {
        if (!sameParty(found, row))
          throw atItem(validationFailed(`parties.${i}.ref`, `ref ${row.ref} was imported before as another party`), i);
        continue;
      }
      await this.parties.register(caller.networkId, row.kind, row.name, row.handle, id).catch((error: unknown) => {
        throw error instanceof DomainError ? atItem(error, i) : error;
      });
      created++;
    }
    return { created, alreadyImported: rows.length - created };
  }

  async importAccounts(caller: Caller, rows: readonly ImportAccountInput[]): Promise<ImportBatchResult> {
    checkBatch(rows);
    const ids = rows.map((row, i) => importId(caller, 'ACCOUNT', checkRef(row.ref, `accounts.${i}.ref`)));
    const existing = new Map((await this.accountRows.findByIds(caller.networkId, ids)).map((a) => [a.id, a]));
    let created = 0;
    for (const [i, row] of rows.entries()) {
      const id = ids[i] as string;
      const partyId = importId(caller, 'PARTY', checkRef(row.partyRef, `accounts.${i}.partyRef`));
      const found = existing.get(id);
      if (found) {
        if (!sameAccount(found, partyId, row))
          throw atItem(validationFailed(`accounts.${i}.ref`, `ref ${row.ref} was imported before as another account`), i);
        continue;
      }
      await this.accounts
        .open(caller.networkId, partyId, row.currency, { creditLimit: row.creditLimit, maxBalance: row.maxBalance }, false, id)
        .catch((error: unknown) => {
          throw error instanceof DomainError ? atItem(error, i) : error;
        });
      created++;
    }
    return { created, alreadyImported: rows.length - created };
  }

  /** Posts a batch of history as one command: all of it, or (refused) none of it. */
  async importTransactions(caller: Caller, rows: readonly ImportTransactionInput[]): Promise<ImportBatchResult> {
    checkBatch(rows);
    // Every account the batch names, its id derived once per ref and read in one query (not one per row: a batch is 500 rows).
    const refs = new Set(rows.flatMap((row) => [row.fromAccountRef, row.toAccountRef]).filter((ref) => typeof ref === 'string'));
    const idOf = new Map([...refs].map((ref) => [ref, importId(caller, 'ACCOUNT', ref)]));
    const accounts = new Map((await this.accountRows.findByIds(caller.networkId, [...idOf.values()])).map((a) => [a.id, a]));
    const ops = rows.map((row, i) => postOp(row, i, idOf, accounts));
    const results = await this.posting.submit({ ops, apiKeyId: caller.apiKeyId, networkId: caller.networkId });
    const created = results.filter((r) => r.type === 'transaction' && !r.replayed).length;
    return { created, alreadyImported: rows.length - created };
  }
}

/** One row as a posting operation: its refs' account ids and the accounts themselves as the batch derived and read them. */
function postOp(
  row: ImportTransactionInput,
  i: number,
  idOf: ReadonlyMap<string, string>,
  accounts: ReadonlyMap<string, AccountRecord>,
): PostOp {
  try {
    const ref = checkRef(row.ref, 'ref');
    const kind = IMPORT_KINDS.find((k) => k === row.kind);
    if (!kind) throw validationFailed('kind', 'TRANSFER, EXCHANGE or ADJUSTMENT');
    // A ref that passes checkRef is a string, so the batch derived its id.
    const fromId = idOf.get(checkRef(row.fromAccountRef, 'fromAccountRef')) as string;
    const toId = idOf.get(checkRef(row.toAccountRef, 'toAccountRef')) as string;
    if (fromId === toId) throw validationFailed('toAccountRef', 'the two accounts must differ');
    const from = accounts.get(fromId);
    const to = accounts.get(toId);
    if (!from) throw notFound('account with ref', row.fromAccountRef);
    if (!to) throw notFound('account with ref', row.toAccountRef);
    if (from.currencyCode !== to.currencyCode)
      throw new DomainError(ErrorCode.CURRENCY_MISMATCH, 'the two accounts hold different currencies');
    const amountMinor = toPositiveMinor(row.amount, from.scale);
    const memo = cleanText(row.memo, 'memo', MAX_MEMO_LENGTH, false);
    const postedAt = row.postedAt;
    const postings = [
      { accountId: fromId, amountMinor: -amountMinor },
      { accountId: toId, amountMinor },
    ];
    return {
      type: 'post',
      kind,
      postings,
      memo,
      externalRef: ref,
      postedAt,
      idempotency: idempotency(`import:${ref}`, 'importTransaction', {
        kind,
        postings: postings.map((p) => [p.accountId, p.amountMinor.toString()]),
        memo,
        postedAt: postedAt.toISOString(),
      }),
    };
  } catch (error) {
    throw error instanceof DomainError ? atItem(error, i) : error;
  }
}

function checkBatch(rows: readonly unknown[]): void {
  if (rows.length === 0 || rows.length > MAX_IMPORT_BATCH) throw validationFailed('batch', `1 to ${MAX_IMPORT_BATCH} rows per call`);
}

function checkRef(ref: string, field: string): string {
  if (typeof ref !== 'string' || ref.length < 1 || ref.length > MAX_REF_LENGTH || ref.trim() !== ref) {
    throw validationFailed(field, `a ref is 1 to ${MAX_REF_LENGTH} characters without leading or trailing spaces`);
  }
  return ref;
}

/**
 * The ledger id of what a ref names: a name-based UUID (RFC 9562 version 8, from SHA-256) of the
 * network, the kind of row and the ref. The same ref always names the same row, so a repeated
 * import finds it; refs of parties and accounts never collide.
 */
export function importId(caller: Caller, kind: 'PARTY' | 'ACCOUNT', ref: string): string {
  // The network of the key, once keys carry one (SPEC B.3); one ledger before that.
  const network = (caller as Partial<{ networkId: string }>).networkId ?? 'default';
  const hex = createHash('sha256').update(`solidarity-ledger-import\u0000${network}\u0000${kind}\u0000${ref}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function sameParty(found: PartyRecord, row: ImportPartyInput): boolean {
  return found.kind === row.kind && found.name === row.name.trim();
}

function sameAccount(found: AccountRecord, partyId: string, row: ImportAccountInput): boolean {
  return found.partyId === partyId && found.currencyCode === row.currency;
}
