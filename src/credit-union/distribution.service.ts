import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, notFound, validationFailed } from '../common/domain-error';
import { checkId } from '../common/ids';
import { AccessService } from '../identity/access.service';
import type { Caller } from '../identity/caller';
import { toPositiveMinor } from '../ledger/money/amount';
import { cleanText } from '../common/text';
import { idempotency } from '../ledger/posting/idempotency';
import { PostingService } from '../ledger/posting/posting.service';
import type { PostingSpec } from '../ledger/posting/posting.types';
import type { Transaction } from '../ledger/transactions/transaction.model';
import { MAX_MEMO_LENGTH, TransactionService } from '../ledger/transactions/transaction.service';
import { MAX_SHARES, splitByWeights } from './distribution';
import { AccountReader, CurrencyReader } from '../ledger/ledger-readers';

export interface ShareRequest {
  readonly accountId: string;
  readonly weight: number;
}

export interface DistributionRequest {
  readonly fromAccountId: string;
  readonly amount: string;
  readonly shares: readonly ShareRequest[];
  readonly memo?: string | null;
  readonly idempotencyKey: string;
}

/**
 * Distributions (royalty splits): one amount from one account split by integer weights across
 * several accounts of the same currency, as one DISTRIBUTION transaction. The split itself is the
 * pure `splitByWeights`; the weights are kept in the transaction's metadata, so the split can be
 * checked later even for a share that rounded to zero and got no posting.
 */
@Injectable()
export class DistributionService {
  constructor(
    private readonly posting: PostingService,
    private readonly accounts: AccountReader,
    private readonly currencies: CurrencyReader,
    private readonly access: AccessService,
    private readonly transactions: TransactionService,
  ) {}

  async distribute(caller: Caller, request: DistributionRequest): Promise<Transaction> {
    const fromId = checkId(request.fromAccountId, 'fromAccountId');
    const shares = checkShares(request.shares, fromId);
    const [from, ...shareAccounts] = await this.accounts.requireFacts(caller.networkId, [fromId, ...shares.map((s) => s.accountId)]);
    if (!from) throw notFound('account', fromId);
    this.access.assertCanMoveFrom(caller, [from], shareAccounts);
    const facts = new Map(shareAccounts.map((a) => [a.id, a]));
    if ((await this.accounts.issuanceAccountId(caller.networkId, from.currencyCode)) === from.id) {
      throw validationFailed('fromAccountId', 'the issuance account puts money in circulation only through deposits');
    }
    for (const share of shares) {
      const account = facts.get(share.accountId);
      if (!account) throw notFound('account', share.accountId);
      if (account.currencyCode !== from.currencyCode) {
        throw new DomainError(
          ErrorCode.CURRENCY_MISMATCH,
          `account ${from.id} holds ${from.currencyCode} but share account ${account.id} holds ${account.currencyCode}`,
        );
      }
    }
    const currency = await this.currencies.require(caller.networkId, from.currencyCode);
    const amountMinor = toPositiveMinor(request.amount, currency.scale);
    const parts = splitByWeights(
      amountMinor,
      shares.map((s) => BigInt(s.weight)),
    );
    const postings: PostingSpec[] = [{ accountId: from.id, amountMinor: -amountMinor }];
    // A share that rounds to zero gets no posting (postings are never zero).
    shares.forEach((share, i) => {
      const part = parts[i] ?? 0n;
      if (part > 0n) postings.push({ accountId: share.accountId, amountMinor: part });
    });
    const memo = cleanText(request.memo, 'memo', MAX_MEMO_LENGTH, false);
    const metadata = { shares };
    const result = await this.posting.submitOne(
      {
        type: 'post',
        kind: 'DISTRIBUTION',
        postings,
        memo,
        metadata,
        idempotency: idempotency(request.idempotencyKey, 'distribute', { fromAccountId: from.id, amountMinor, shares, memo }),
      },
      caller,
    );
    return this.transactions.transactionOf(caller.networkId, result);
  }
}

/** 1 to MAX_SHARES shares of distinct accounts other than the payer, each with a whole weight > 0. */
function checkShares(shares: readonly ShareRequest[], fromId: string): ShareRequest[] {
  if (shares.length === 0 || shares.length > MAX_SHARES) {
    throw validationFailed('shares', `a distribution has 1 to ${MAX_SHARES} shares`);
  }
  const seen = new Set<string>();
  return shares.map((share, i) => {
    const accountId = checkId(share.accountId, `shares.${i}.accountId`);
    if (!Number.isSafeInteger(share.weight) || share.weight <= 0) {
      throw validationFailed(`shares.${i}.weight`, 'must be a whole number greater than zero');
    }
    if (accountId === fromId) throw validationFailed(`shares.${i}.accountId`, 'the paying account cannot also be a share');
    if (seen.has(accountId)) {
      throw validationFailed(`shares.${i}.accountId`, 'the account appears twice; give it one share with the sum of the weights');
    }
    seen.add(accountId);
    return { accountId, weight: share.weight };
  });
}
