import { Injectable } from '@nestjs/common';
import { atItem, DomainError, ErrorCode, notFound, validationFailed } from '../common/domain-error';
import { checkId } from '../common/ids';
import { AccessService } from '../identity/access.service';
import type { Caller } from '../identity/caller';
import { CurrencyKind } from '../ledger/currencies/currency.model';
import { toPositiveMinor } from '../ledger/money/amount';
import { cleanText } from '../common/text';
import { idempotency } from '../ledger/posting/idempotency';
import { PostingService } from '../ledger/posting/posting.service';
import type { OpResult, PostOp } from '../ledger/posting/posting.types';
import type { Transaction } from '../ledger/transactions/transaction.model';
import { fromRecordWithScales, TransactionReader } from '../ledger/transactions/transaction.reader';
import { MAX_EXTERNAL_REF_LENGTH, TransactionService } from '../ledger/transactions/transaction.service';
import { type AccountFacts, AccountReader, CurrencyReader } from '../ledger/ledger-readers';

/** Most deposits in one `recordDeposits` batch. */
export const MAX_BATCH = 1000;

export interface DepositRequest {
  readonly accountId: string;
  readonly amount: string;
  readonly externalRef: string;
  readonly idempotencyKey: string;
}

type Direction = 'DEPOSIT' | 'WITHDRAWAL';

/** What a local dollar needs to move in or out of circulation. */
interface Issuance {
  readonly scale: number;
  readonly issuanceAccountId: string;
}

/** Field names for refusals: `amount` for a single request, `batch.3.amount` for a batch item. */
type FieldName = (name: keyof DepositRequest) => string;

/**
 * Deposits and withdrawals of local dollars. A deposit issues money: the currency's issuance
 * account goes down by X and the member's account up by X; a withdrawal is the reverse. A batch
 * of deposits is one posting command, so it is posted all-or-nothing in one database
 * transaction with set-based writes, each item under its own idempotency key.
 */
@Injectable()
export class DepositService {
  /** `network/code` -> the currency's issuance account id; that account never changes once created. */
  private readonly issuanceAccounts = new Map<string, string>();

  constructor(
    private readonly posting: PostingService,
    private readonly reader: TransactionReader,
    private readonly accounts: AccountReader,
    private readonly currencies: CurrencyReader,
    private readonly access: AccessService,
    private readonly transactions: TransactionService,
  ) {}

  async record(caller: Caller, direction: Direction, request: DepositRequest): Promise<Transaction> {
    const accountId = checkId(request.accountId, 'accountId');
    const account = (await this.accounts.factsOf(caller.networkId, [accountId])).get(accountId);
    if (!account) throw notFound('account', accountId);
    const issuance = await this.issuanceOf(caller, account.currencyCode);
    const op = this.plan(direction, request, account, issuance, (name) => name);
    return this.transactions.transactionOf(caller.networkId, await this.posting.submitOne(op, caller));
  }

  /** Posts up to MAX_BATCH deposits all-or-nothing; a refusal names the index of the bad item. */
  async recordBatch(caller: Caller, batch: readonly DepositRequest[]): Promise<Transaction[]> {
    if (batch.length === 0 || batch.length > MAX_BATCH) {
      throw validationFailed('batch', `a batch holds 1 to ${MAX_BATCH} deposits`);
    }
    const ids = batch.map((item, i) => inItem(i, () => checkId(item.accountId, `batch.${i}.accountId`)));
    checkDistinctKeys(batch);
    const facts = await this.accounts.factsOf(caller.networkId, ids);
    // Items are checked in order, so a refusal names the first bad item; the only waits are for a
    // currency's issuance, once per currency (a batch usually has one), not once per item.
    const issuances = new Map<string, Issuance>();
    const ops: PostOp[] = [];
    const scales = new Map<string, number>();
    for (let i = 0; i < batch.length; i++) {
      const account = facts.get(ids[i] as string);
      if (!account) throw atItem(notFound('account', ids[i] as string), i);
      let issuance = issuances.get(account.currencyCode);
      if (!issuance) {
        issuance = await inItemAsync(i, () => this.issuanceOf(caller, account.currencyCode));
        issuances.set(account.currencyCode, issuance);
      }
      const planned = issuance;
      const op = inItem(i, () => this.plan('DEPOSIT', batch[i] as DepositRequest, account, planned, (name) => `batch.${i}.${name}`));
      ops.push(op);
      for (const p of op.postings) scales.set(p.accountId, issuance.scale);
    }
    let results: OpResult[];
    try {
      results = await this.posting.submit({ ops, apiKeyId: caller.apiKeyId, networkId: caller.networkId });
    } catch (error) {
      // The posting module names the item of a command of several; a batch of one is item 0 too.
      throw error instanceof DomainError && batch.length === 1 ? atItem(error, 0) : error;
    }
    return this.transactionsOf(caller.networkId, results, scales);
  }

  /** Checks one deposit or withdrawal of an account whose issuance is known, and builds its posting operation. */
  private plan(direction: Direction, request: DepositRequest, account: AccountFacts, issuance: Issuance, field: FieldName): PostOp {
    const { scale, issuanceAccountId } = issuance;
    if (account.id === issuanceAccountId) {
      throw validationFailed(field('accountId'), 'deposits and withdrawals move money between the issuance account and another account');
    }
    const amountMinor = toPositiveMinor(request.amount, scale);
    const externalRef = cleanText(request.externalRef, field('externalRef'), MAX_EXTERNAL_REF_LENGTH, true) as string;
    const sign = direction === 'DEPOSIT' ? 1n : -1n;
    const postings = [
      { accountId: issuanceAccountId, amountMinor: -sign * amountMinor },
      { accountId: account.id, amountMinor: sign * amountMinor },
    ];
    const operation = direction === 'DEPOSIT' ? 'recordDeposit' : 'recordWithdrawal';
    return {
      type: 'post',
      kind: direction,
      postings,
      externalRef,
      idempotency: idempotency(
        request.idempotencyKey,
        operation,
        { accountId: account.id, amountMinor, externalRef },
        field('idempotencyKey'),
      ),
    };
  }

  /** The caller may issue this currency, it is a local dollar, and this is its issuance account. */
  private async issuanceOf(caller: Caller, currencyCode: string): Promise<Issuance> {
    await this.access.assertIssuerAccess(caller, currencyCode);
    const currency = await this.currencies.require(caller.networkId, currencyCode);
    if (currency.kind !== CurrencyKind.MONEY) {
      throw new DomainError(
        ErrorCode.CURRENCY_MISMATCH,
        `${currencyCode} is a currency of time credits: only local dollars are deposited and withdrawn`,
      );
    }
    const cacheKey = `${caller.networkId}/${currencyCode}`;
    let issuanceAccountId = this.issuanceAccounts.get(cacheKey);
    if (!issuanceAccountId) {
      issuanceAccountId = await this.accounts.issuanceAccountId(caller.networkId, currencyCode);
      if (!issuanceAccountId) throw new Error(`${currencyCode} has no issuance account`);
      this.issuanceAccounts.set(cacheKey, issuanceAccountId);
    }
    return { scale: currency.scale, issuanceAccountId };
  }

  /** API objects for a batch's results in order: new ones from memory, replays in one read. */
  private async transactionsOf(network: string, results: readonly OpResult[], scales: ReadonlyMap<string, number>): Promise<Transaction[]> {
    const replayedIds = results.flatMap((r) => (r.type === 'transaction' && r.replayed ? [r.id] : []));
    const byId = new Map(replayedIds.length === 0 ? [] : (await this.reader.byIds(network, replayedIds)).map((t) => [t.id, t]));
    return results.map((result) => {
      if (result.type !== 'transaction') throw new Error('a deposit produced something other than a transaction');
      if (result.transaction && !result.replayed) return fromRecordWithScales(result.transaction, scales);
      const found = byId.get(result.id);
      if (!found) throw new Error(`posted transaction ${result.id} is missing`);
      return found;
    });
  }
}

/** Each item of a batch needs its own idempotency key: a repeated key would swallow an item. */
function checkDistinctKeys(batch: readonly DepositRequest[]): void {
  const seen = new Map<string, number>();
  for (const [i, item] of batch.entries()) {
    const first = seen.get(item.idempotencyKey);
    if (first !== undefined) {
      throw atItem(validationFailed(`batch.${i}.idempotencyKey`, `the same key as item ${first}; each deposit needs its own key`), i);
    }
    seen.set(item.idempotencyKey, i);
  }
}

function inItem<T>(index: number, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw error instanceof DomainError ? atItem(error, index) : error;
  }
}

async function inItemAsync<T>(index: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof DomainError ? atItem(error, index) : error;
  }
}
