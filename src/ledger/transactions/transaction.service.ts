import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, forbidden, validationFailed } from '../../common/domain-error';
import { checkId, checkIds } from '../../common/ids';
import { type ConnectionShape, paginate } from '../../graphql/pagination';
import { AccessService } from '../../identity/access.service';
import { ReadRules } from '../../identity/read-rules';
import { type Caller, Role } from '../../identity/caller';
import { AccountRepository, type AccountFacts } from '../accounts/account.repository';
import { CurrencyRepository } from '../currencies/currency.repository';
import { toMinor, toPositiveMinor } from '../money/amount';
import { cleanText } from '../../common/text';
import { idempotency } from '../posting/idempotency';
import { PostingService } from '../posting/posting.service';
import type { OpResult, PostingSpec, TransactionKind } from '../posting/posting.types';
import type { Transaction } from './transaction.model';
import { TransactionReader } from './transaction.reader';

export const MAX_MEMO_LENGTH = 500;
export const MAX_EXTERNAL_REF_LENGTH = 200;

/** Kinds a member or treasurer may post with postTransaction; the rest belong to coordinators
 * (ADJUSTMENT), credit unions (DEPOSIT, WITHDRAWAL) or reverseTransaction (REVERSAL). */
const MEMBER_KINDS: readonly TransactionKind[] = ['TRANSFER', 'EXCHANGE', 'DISTRIBUTION'];

/**
 * Transfers, general transactions and reversals: checks who may move what, turns decimal text
 * into minor units with each account's currency scale, and hands the result to the posting
 * module, which decides whether it may happen.
 */
@Injectable()
export class TransactionService {
  constructor(
    private readonly posting: PostingService,
    private readonly reader: TransactionReader,
    private readonly accounts: AccountRepository,
    private readonly currencies: CurrencyRepository,
    private readonly access: AccessService,
    private readonly rules: ReadRules,
  ) {}

  async transfer(
    caller: Caller,
    fromId: string,
    toId: string,
    amount: string,
    memo: string | null | undefined,
    key: string,
  ): Promise<Transaction> {
    const from = await this.accounts.requireFact(caller.networkId, checkId(fromId, 'from'));
    const to = await this.accounts.requireFact(caller.networkId, checkId(toId, 'to'));
    if (from.id === to.id) throw validationFailed('to', 'a transfer needs two different accounts');
    this.access.assertCanMoveFrom(caller, [from], [to]);
    if (from.currencyCode !== to.currencyCode) {
      throw new DomainError(
        ErrorCode.CURRENCY_MISMATCH,
        `account ${from.id} holds ${from.currencyCode} but account ${to.id} holds ${to.currencyCode}`,
      );
    }
    const amountMinor = toPositiveMinor(amount, (await this.currencies.require(caller.networkId, from.currencyCode)).scale);
    const cleanMemo = cleanText(memo, 'memo', MAX_MEMO_LENGTH, false);
    const postings = [
      { accountId: from.id, amountMinor: -amountMinor },
      { accountId: to.id, amountMinor },
    ];
    const result = await this.posting.submitOne(
      {
        type: 'post',
        kind: 'TRANSFER',
        postings,
        memo: cleanMemo,
        idempotency: idempotency(key, 'transfer', { postings, memo: cleanMemo }),
      },
      caller,
    );
    return this.transactionOf(caller.networkId, result);
  }

  async post(
    caller: Caller,
    input: {
      postings: readonly { accountId: string; amount: string }[];
      kind: TransactionKind;
      memo?: string | null;
      metadata?: unknown;
      externalRef?: string | null;
      idempotencyKey: string;
    },
  ): Promise<Transaction> {
    if (input.kind === 'REVERSAL') throw validationFailed('kind', 'use reverseTransaction to reverse a transaction');
    if (caller.role !== Role.ADMIN && !MEMBER_KINDS.includes(input.kind))
      throw forbidden(`A ${caller.role} key may not post ${input.kind} transactions`);
    if (input.postings.length < 2 || input.postings.length > 1001) throw validationFailed('postings', 'between 2 and 1001 postings');
    const ids = checkIds(
      input.postings.map((p) => p.accountId),
      'postings',
    );
    const facts = await this.accounts.requireFacts(caller.networkId, ids);
    const postings: PostingSpec[] = [];
    for (const [i, p] of input.postings.entries()) {
      const account = facts[i] as AccountFacts;
      postings.push({
        accountId: account.id,
        amountMinor: toMinor(p.amount, (await this.currencies.require(caller.networkId, account.currencyCode)).scale),
      });
    }
    this.access.assertCanMoveFrom(
      caller,
      facts.filter((_, i) => (postings[i]?.amountMinor ?? 0n) < 0n),
      facts.filter((_, i) => (postings[i]?.amountMinor ?? 0n) > 0n),
    );
    const memo = cleanText(input.memo, 'memo', MAX_MEMO_LENGTH, false);
    const externalRef = cleanText(input.externalRef, 'externalRef', MAX_EXTERNAL_REF_LENGTH, false);
    const metadata = input.metadata ?? null;
    const result = await this.posting.submitOne(
      {
        type: 'post',
        kind: input.kind,
        postings,
        memo,
        metadata,
        externalRef,
        idempotency: idempotency(input.idempotencyKey, 'postTransaction', { kind: input.kind, postings, memo, metadata, externalRef }),
      },
      caller,
    );
    return this.transactionOf(caller.networkId, result);
  }

  async reverse(caller: Caller, id: string, reason: string, key: string): Promise<Transaction> {
    const transactionId = checkId(id);
    const cleanReason = cleanText(reason, 'reason', MAX_MEMO_LENGTH, true) as string;
    const result = await this.posting.submitOne(
      {
        type: 'reverse',
        transactionId,
        reason: cleanReason,
        idempotency: idempotency(key, 'reverseTransaction', { transactionId, reason: cleanReason }),
      },
      caller,
    );
    return this.transactionOf(caller.networkId, result);
  }

  /** The API object for a posting result: built from the record, or read back for a replay. */
  async transactionOf(network: string, result: OpResult): Promise<Transaction> {
    if (result.type === 'sweep') throw new Error('a sweep has no transaction');
    if (result.transaction && !result.replayed) return this.reader.fromRecord(result.transaction);
    const id = result.type === 'transaction' ? result.id : result.transaction?.id;
    const found = id ? await this.reader.byId(network, id) : undefined;
    if (!found) throw new Error(`posted transaction ${id ?? '?'} is missing`);
    return found;
  }

  async find(caller: Caller, id: string): Promise<Transaction | null> {
    const tx = await this.reader.byId(caller.networkId, checkId(id));
    if (!tx) return null;
    return this.rules.required(caller, tx, 'transaction');
  }

  async page(
    caller: Caller,
    args: {
      accountId?: string | null;
      kind?: TransactionKind | null;
      from?: Date | null;
      to?: Date | null;
      first?: number | null;
      after?: string | null;
    },
  ): Promise<ConnectionShape<Transaction>> {
    return paginate(args, {
      cursor: ['string'],
      from: ([sequence]) => parseSequence(sequence as string),
      fetch: (afterSequence, limit) => this.pageAfter(caller, args, afterSequence, limit),
      keyOf: (t) => [t.sequence],
    });
  }

  /** The transactions the caller may read, in sequence order after `afterSequence`. */
  private async pageAfter(
    caller: Caller,
    args: { accountId?: string | null; kind?: TransactionKind | null; from?: Date | null; to?: Date | null },
    afterSequence: bigint | null,
    limit: number,
  ): Promise<Transaction[]> {
    const scope = await this.access.readScope(caller);
    let accountIds: string[] | null = null;
    let issuerPartyId: string | null = null;
    if (args.accountId) {
      const account = await this.accounts.requireFact(caller.networkId, checkId(args.accountId, 'accountId'));
      await this.access.assertCanRead(caller, account);
      accountIds = [account.id];
    } else if (!scope.all) {
      if ('issuerPartyId' in scope) issuerPartyId = scope.issuerPartyId;
      else
        accountIds = (
          await this.accounts.page(caller.networkId, { partyIds: scope.partyIds, currencyCode: null, issuerPartyId: null }, null, 10_000)
        ).map((a) => a.id);
    }
    if (accountIds?.length === 0) return [];
    return this.reader.page(caller.networkId, {
      accountIds,
      issuerPartyId,
      kind: args.kind ?? null,
      from: args.from ?? null,
      to: args.to ?? null,
      afterSequence,
      limit,
    });
  }
}

function parseSequence(text: string): bigint {
  if (!/^\d{1,19}$/.test(text)) throw validationFailed('after', 'not a cursor returned by this list');
  return BigInt(text);
}
