import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { DomainError, ErrorCode, forbidden, notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import type { Sql } from '../../database/database';
import { type ConnectionShape, paginate, sequenceCursor } from '../../graphql/pagination';
import { AccessService } from '../../identity/access.service';
import { ReadRules } from '../../identity/read-rules';
import { type Caller, Role } from '../../identity/caller';
import { CurrencyKind } from '../../ledger/currencies/currency.model';
import { toPositiveMinor } from '../../ledger/money/amount';
import { cleanText } from '../../common/text';
import { idempotency } from '../../ledger/posting/idempotency';
import { PostingService } from '../../ledger/posting/posting.service';
import type { Idempotency, Op, OpResult } from '../../ledger/posting/posting.types';
import { ListingRepository } from '../listings/listing.repository';
import { ListingService } from '../listings/listing.service';
import { type ExchangeRecord, type ExchangeRole, ExchangeStatus } from './exchange.record';
import { ExchangeRepository } from './exchange.repository';
import { type AccountFacts, AccountReader, CurrencyReader } from '../../ledger/ledger-readers';

/** Fits the memo of the transaction it becomes. */
export const MAX_EXCHANGE_DESCRIPTION_LENGTH = 500;
export const MAX_DISPUTE_REASON_LENGTH = 500;

export interface RecordExchangeInput {
  readonly provider: string;
  readonly receiver: string;
  readonly hours: string;
  readonly description: string;
  readonly offerId?: string | null;
  readonly requestId?: string | null;
  readonly idempotencyKey: string;
}

/**
 * Exchanges of hours between two parties of the time bank. Who records decides what happens:
 * - the receiver's side (a key bound to the receiver's party) or a coordinator of the receiver
 *   (an admin, or a treasurer of the receiver or of an organisation it belongs to): the hours
 *   move at once, as one EXCHANGE transaction (receiver -N, provider +N);
 * - the provider's side: a hold of N on the receiver's account, until the receiver's side or a
 *   coordinator confirms it (the hold is captured) or disputes it (the hold is voided).
 * The exchange row is written by the posting module's `afterPost`, in the same database
 * transaction as its hold or transaction, so the two can never disagree.
 *
 * A claim (recorded by the provider) ends by itself (SPEC B.1): its hold expires
 * EXCHANGE_CLAIM_TTL_DAYS after it was recorded and the claim with it (EXPIRED, in the posting
 * group that releases the hold); its provider may withdraw it (WITHDRAWN, the hold voided); and a
 * provider account has at most MAX_PENDING_CLAIMS pending, so nobody can tie up others' hours at will.
 *
 * Answers with exchange records; the resolvers build the GraphQL `Exchange` (exchange.mapper.ts).
 */
@Injectable()
export class ExchangeService implements OnModuleInit {
  constructor(
    private readonly posting: PostingService,
    private readonly exchanges: ExchangeRepository,
    private readonly listings: ListingService,
    private readonly listingRows: ListingRepository,
    private readonly accounts: AccountReader,
    private readonly currencies: CurrencyReader,
    private readonly access: AccessService,
    private readonly rules: ReadRules,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.posting.onHoldsExpired((tx, network, expired) => this.exchanges.expire(tx, network, expired));
  }

  async record(caller: Caller, input: RecordExchangeInput): Promise<ExchangeRecord> {
    const plan = await this.plan(caller, input);
    // Refused early in the common case; the count that decides is taken again under the head lock.
    if (!plan.atOnce && !plan.retry) {
      await this.checkPendingBound(null, plan);
    }
    const result = await this.posting.submitOne(recordOp(plan), caller, (tx, results) => this.writeRecorded(tx, plan, results));
    if (result.type === 'sweep') throw new Error('recording an exchange returned a sweep');
    // A replay finds the exchange first recorded with this key by its hold or transaction.
    const exchange = result.replayed
      ? await this.exchanges.findByLedgerId(caller.networkId, result.id)
      : await this.exchanges.findById(caller.networkId, plan.id);
    if (!exchange) throw new Error(`the exchange of ${result.type} ${result.id} is missing`);
    return exchange;
  }

  /** Checks who records what; everything the posting and the exchange row need. */
  private async plan(caller: Caller, input: RecordExchangeInput): Promise<RecordPlan> {
    const provider = await this.accounts.requireFact(caller.networkId, checkId(input.provider, 'provider'));
    const receiver = await this.accounts.requireFact(caller.networkId, checkId(input.receiver, 'receiver'));
    const scale = await this.checkPair(caller.networkId, provider, receiver);
    const byReceiverSide = await this.access.actsFor(caller, receiver.partyId);
    const byProvider = (caller.role === Role.MEMBER || caller.role === Role.TREASURER) && caller.partyId === provider.partyId;
    if (!byReceiverSide && !byProvider) {
      throw forbidden('Only the provider, the receiver or a coordinator of the receiver records an exchange');
    }
    const hoursMinor = toPositiveMinor(input.hours, scale);
    const description = cleanText(input.description, 'description', MAX_EXCHANGE_DESCRIPTION_LENGTH, true) as string;
    // A retry of an exchange already recorded may name the listings it closed; the posting
    // module then returns the first result (or refuses a different input under the same key).
    const retry = await this.posting.hasIdempotencyKey(caller, input.idempotencyKey);
    const offerId = await this.listings.linkable(caller.networkId, 'OFFER', input.offerId, provider.partyId, 'offerId', retry);
    const requestId = await this.listings.linkable(caller.networkId, 'REQUEST', input.requestId, receiver.partyId, 'requestId', retry);
    const normalised = { provider: provider.id, receiver: receiver.id, hoursMinor, description, offerId, requestId };
    return {
      ...normalised,
      id: randomUUID(),
      networkId: caller.networkId,
      atOnce: byReceiverSide,
      retry,
      recordedBy: caller.apiKeyId,
      claimTtlMs: this.config.exchangeClaimTtlMs,
      idempotency: idempotency(input.idempotencyKey, 'recordExchange', normalised),
    };
  }

  /** Inside the posting transaction: the exchange row, and what it fulfilled when it moved hours. */
  private async writeRecorded(tx: Sql, plan: RecordPlan, results: readonly OpResult[]): Promise<void> {
    const result = results[0];
    if (!result || result.type === 'sweep' || result.replayed) return;
    const confirmed = result.type === 'transaction';
    await this.exchanges.insert(tx, {
      networkId: plan.networkId,
      id: plan.id,
      providerAccountId: plan.provider,
      receiverAccountId: plan.receiver,
      hoursMinor: plan.hoursMinor,
      description: plan.description,
      status: confirmed ? ExchangeStatus.CONFIRMED : ExchangeStatus.PENDING,
      holdId: confirmed ? null : result.id,
      transactionId: confirmed ? result.id : null,
      offerId: plan.offerId,
      requestId: plan.requestId,
      recordedBy: plan.recordedBy,
    });
    if (!confirmed) await this.checkPendingBound(tx, plan);
    if (confirmed) await this.listingRows.fulfil(tx, plan.networkId, plan.id, plan.offerId, plan.requestId);
  }

  /**
   * At most MAX_PENDING_CLAIMS pending claims per provider account, this one included. Inside the
   * posting group (`tx`) a refusal rolls the claim back with the group, and the posting module
   * posts the group's other commands again without it.
   */
  private async checkPendingBound(tx: Sql | null, plan: RecordPlan): Promise<void> {
    const max = this.config.maxPendingClaims;
    const pending = await this.exchanges.pendingClaims(tx, plan.networkId, plan.provider, max + 1);
    if (pending > (tx ? max : max - 1)) {
      throw validationFailed(
        'provider',
        `a provider account may have at most ${max} pending claims at once: withdraw one, or wait until its receiver confirms or disputes it or it expires`,
      );
    }
  }

  /** The provider (or an admin) takes back its pending claim: the hold is voided, nothing moves. */
  async withdraw(caller: Caller, id: string, idempotencyKey?: string | null): Promise<ExchangeRecord> {
    const retry = await this.isRetry(caller, idempotencyKey);
    const exchange = await this.exchanges.findById(caller.networkId, checkId(id));
    if (!exchange) throw notFound('exchange', id);
    const provider = await this.accounts.requireFact(caller.networkId, exchange.providerAccountId);
    const byProvider = (caller.role === Role.MEMBER || caller.role === Role.TREASURER) && caller.partyId === provider.partyId;
    if (caller.role !== Role.ADMIN && !byProvider) {
      throw forbidden(`Only the provider or an admin withdraws exchange ${exchange.id}`);
    }
    assertPending(exchange, retry);
    const op = {
      type: 'hold.void' as const,
      holdId: exchange.holdId as string,
      ...(idempotencyKey ? { idempotency: idempotency(idempotencyKey, 'withdrawExchange', { exchangeId: exchange.id }) } : {}),
    };
    await this.posting.submitOne(op, caller, async (tx, results) => {
      if (results[0]?.type === 'hold' && results[0].replayed) return;
      await this.exchanges.withdraw(tx, caller.networkId, exchange.id);
    });
    return this.mustFind(caller.networkId, exchange.id);
  }

  /** The receiver's side or a coordinator confirms: the hold is captured and the hours move. */
  async confirm(caller: Caller, id: string, idempotencyKey?: string | null): Promise<ExchangeRecord> {
    const exchange = await this.pendingFor(caller, id, await this.isRetry(caller, idempotencyKey));
    const network = caller.networkId;
    const op = {
      type: 'hold.capture' as const,
      holdId: exchange.holdId as string,
      ...(idempotencyKey ? { idempotency: idempotency(idempotencyKey, 'confirmExchange', { exchangeId: exchange.id }) } : {}),
    };
    await this.posting.submitOne(op, caller, async (tx, results) => {
      const result = results[0];
      if (result?.type === 'hold' && result.replayed) return;
      if (result?.type !== 'hold' || !result.transaction) throw new Error('capturing an exchange hold posted no transaction');
      await this.exchanges.confirm(tx, network, exchange.id, result.transaction.id);
      await this.listingRows.fulfil(tx, network, exchange.id, exchange.offerId, exchange.requestId);
    });
    return this.mustFind(network, exchange.id);
  }

  /** The receiver's side or a coordinator disputes: the hold is voided and the reason kept. */
  async dispute(caller: Caller, id: string, reason: string, idempotencyKey?: string | null): Promise<ExchangeRecord> {
    const cleanReason = cleanText(reason, 'reason', MAX_DISPUTE_REASON_LENGTH, true) as string;
    const exchange = await this.pendingFor(caller, id, await this.isRetry(caller, idempotencyKey));
    const op = {
      type: 'hold.void' as const,
      holdId: exchange.holdId as string,
      ...(idempotencyKey
        ? { idempotency: idempotency(idempotencyKey, 'disputeExchange', { exchangeId: exchange.id, reason: cleanReason }) }
        : {}),
    };
    await this.posting.submitOne(op, caller, async (tx, results) => {
      if (results[0]?.type === 'hold' && results[0].replayed) return;
      await this.exchanges.dispute(tx, caller.networkId, exchange.id, cleanReason);
    });
    return this.mustFind(caller.networkId, exchange.id);
  }

  /** A retry of a confirmation or dispute already posted: the posting module answers it (the first result, or IDEMPOTENCY_CONFLICT). */
  private async isRetry(caller: Caller, idempotencyKey: string | null | undefined): Promise<boolean> {
    return idempotencyKey ? this.posting.hasIdempotencyKey(caller, idempotencyKey) : false;
  }

  async find(caller: Caller, id: string): Promise<ExchangeRecord | null> {
    const exchange = await this.exchanges.findById(caller.networkId, checkId(id));
    if (!exchange) return null;
    return this.rules.required(caller, exchange, 'exchange');
  }

  async page(
    caller: Caller,
    args: { accountId: string; status?: ExchangeStatus | null; role?: ExchangeRole | null; first?: number | null; after?: string | null },
  ): Promise<ConnectionShape<ExchangeRecord>> {
    return paginate(args, {
      cursor: ['string'],
      from: ([seq]) => sequenceCursor(seq as string),
      fetch: async (afterSeq, limit) => {
        const account = await this.accounts.requireFact(caller.networkId, checkId(args.accountId, 'accountId'));
        await this.access.assertCanRead(caller, account);
        return this.exchanges.page(caller.networkId, {
          accountId: account.id,
          status: args.status ?? null,
          role: args.role ?? null,
          afterSeq,
          limit,
        });
      },
      keyOf: (e) => [e.seq],
    });
  }

  async findByIds(network: string, ids: readonly string[]): Promise<ExchangeRecord[]> {
    return this.exchanges.findByIds(network, ids);
  }

  /**
   * A pending exchange the caller may confirm or dispute: only the receiver's side or a
   * coordinator of the receiver; the provider never settles its own claim.
   */
  private async pendingFor(caller: Caller, id: string, retry = false): Promise<ExchangeRecord> {
    const exchange = await this.exchanges.findById(caller.networkId, checkId(id));
    if (!exchange) throw notFound('exchange', id);
    const receiver = await this.accounts.requireFact(caller.networkId, exchange.receiverAccountId);
    if (!(await this.access.actsFor(caller, receiver.partyId))) {
      throw forbidden(`Only the receiver or a coordinator confirms or disputes exchange ${exchange.id}`);
    }
    assertPending(exchange, retry);
    return exchange;
  }

  /** Two accounts of two different parties in one TIME currency; returns the currency's scale. */
  private async checkPair(network: string, provider: AccountFacts, receiver: AccountFacts): Promise<number> {
    if (provider.id === receiver.id) throw validationFailed('receiver', 'an exchange needs two different accounts');
    if (provider.partyId === receiver.partyId) throw validationFailed('receiver', 'an exchange is between two different parties');
    if (provider.currencyCode !== receiver.currencyCode) {
      throw new DomainError(
        ErrorCode.CURRENCY_MISMATCH,
        `account ${provider.id} holds ${provider.currencyCode} but account ${receiver.id} holds ${receiver.currencyCode}`,
      );
    }
    const currency = await this.currencies.require(network, provider.currencyCode);
    if (currency.kind !== CurrencyKind.TIME) throw validationFailed('provider', `exchanges are in time credits, not ${currency.code}`);
    return currency.scale;
  }

  private async mustFind(network: string, id: string): Promise<ExchangeRecord> {
    const exchange = await this.exchanges.findById(network, id);
    if (!exchange) throw new Error(`exchange ${id} is missing`);
    return exchange;
  }
}

interface RecordPlan {
  readonly id: string;
  readonly networkId: string;
  readonly provider: string;
  readonly receiver: string;
  readonly hoursMinor: bigint;
  readonly description: string;
  readonly offerId: string | null;
  readonly requestId: string | null;
  /** Recorded by the receiver's side or a coordinator: the hours move at once. */
  readonly atOnce: boolean;
  /** The caller used this idempotency key before: the posting module answers with the first result. */
  readonly retry: boolean;
  readonly recordedBy: string;
  /** How long a claim holds the receiver's hours (EXCHANGE_CLAIM_TTL_DAYS). */
  readonly claimTtlMs: number;
  readonly idempotency: Idempotency;
}

/** A claim still pending (a retry under an idempotency key is answered by the posting module instead). */
function assertPending(exchange: ExchangeRecord, retry: boolean): void {
  if ((exchange.status !== ExchangeStatus.PENDING && !retry) || !exchange.holdId) {
    throw new DomainError(ErrorCode.HOLD_NOT_PENDING, `exchange ${exchange.id} is ${exchange.status}, not PENDING`);
  }
}

/** At once: one EXCHANGE transaction (receiver -N, provider +N). Otherwise a hold of N on the receiver. */
function recordOp(plan: RecordPlan): Op {
  if (!plan.atOnce) {
    return {
      type: 'hold.create',
      kind: 'EXCHANGE',
      fromAccountId: plan.receiver,
      toAccountId: plan.provider,
      amountMinor: plan.hoursMinor,
      memo: plan.description,
      expiresAfterMs: plan.claimTtlMs,
      idempotency: plan.idempotency,
    };
  }
  return {
    type: 'post',
    kind: 'EXCHANGE',
    postings: [
      { accountId: plan.receiver, amountMinor: -plan.hoursMinor },
      { accountId: plan.provider, amountMinor: plan.hoursMinor },
    ],
    memo: plan.description,
    metadata: { exchangeId: plan.id },
    idempotency: plan.idempotency,
  };
}
