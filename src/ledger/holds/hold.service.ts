import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, forbidden, notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import { type ConnectionShape, paginate } from '../../graphql/pagination';
import { AccessService } from '../../identity/access.service';
import { ReadRules } from '../../identity/read-rules';
import { type Caller, Role } from '../../identity/caller';
import { AccountRepository } from '../accounts/account.repository';
import { CurrencyRepository } from '../currencies/currency.repository';
import { toPositiveMinor } from '../money/amount';
import { cleanText } from '../../common/text';
import { isoMicros, parseInstant } from '../../common/instant';
import { idempotency } from '../posting/idempotency';
import { PostingService } from '../posting/posting.service';
import type { HoldStatus, OpResult } from '../posting/posting.types';
import { MAX_MEMO_LENGTH } from '../transactions/transaction.service';
import type { HoldRecord } from './hold.record';
import { HoldRepository } from './hold.repository';

/**
 * Plain two-phase holds, answered as hold records (HoldResolver builds the GraphQL `Hold`). Who may do what:
 * - create: whoever may move value from the payer's account (its party's MEMBER or TREASURER
 *   key, or an ADMIN);
 * - capture: the same, since capturing completes the payer's payment;
 * - void: the payer's side, the payee's side (declining what was reserved for it harms no one),
 *   or an ADMIN.
 * Holds that belong to a time bank exchange are resolved by confirmExchange and
 * disputeExchange, never directly, so that the exchange and its hold cannot disagree.
 */
@Injectable()
export class HoldService {
  constructor(
    private readonly posting: PostingService,
    private readonly holds: HoldRepository,
    private readonly accounts: AccountRepository,
    private readonly currencies: CurrencyRepository,
    private readonly access: AccessService,
    private readonly rules: ReadRules,
  ) {}

  async create(
    caller: Caller,
    input: { from: string; to: string; amount: string; memo?: string | null; expiresAt?: Date | null; idempotencyKey: string },
  ): Promise<HoldRecord> {
    const from = await this.accounts.requireFact(caller.networkId, checkId(input.from, 'from'));
    const to = await this.accounts.requireFact(caller.networkId, checkId(input.to, 'to'));
    if (from.id === to.id) throw validationFailed('to', 'a hold needs two different accounts');
    this.access.assertCanMoveFrom(caller, [from], [to]);
    if (from.currencyCode !== to.currencyCode) {
      throw new DomainError(
        ErrorCode.CURRENCY_MISMATCH,
        `account ${from.id} holds ${from.currencyCode} but account ${to.id} holds ${to.currencyCode}`,
      );
    }
    const scale = (await this.currencies.require(caller.networkId, from.currencyCode)).scale;
    const amountMinor = toPositiveMinor(input.amount, scale);
    const memo = cleanText(input.memo, 'memo', MAX_MEMO_LENGTH, false);
    // Whether it lies in the future is judged by the posting group, by the database's clock.
    const expiresAt = input.expiresAt ?? null;
    const result = await this.posting.submitOne(
      {
        type: 'hold.create',
        kind: 'TRANSFER',
        fromAccountId: from.id,
        toAccountId: to.id,
        amountMinor,
        memo,
        expiresAt,
        idempotency: idempotency(input.idempotencyKey, 'createHold', {
          from: from.id,
          to: to.id,
          amountMinor,
          memo,
          expiresAt: expiresAt?.toISOString() ?? null,
        }),
      },
      caller,
    );
    return this.holdOf(caller.networkId, result, scale);
  }

  /** With an idempotency key, a retry returns the captured hold instead of HOLD_NOT_PENDING. */
  async capture(caller: Caller, id: string, amount: string | null | undefined, idempotencyKey?: string | null): Promise<HoldRecord> {
    const hold = await this.plainHold(caller.networkId, id);
    const from = await this.accounts.requireFact(caller.networkId, hold.fromAccountId);
    this.access.assertCanMoveFrom(caller, [from]);
    const scale = (await this.currencies.require(caller.networkId, from.currencyCode)).scale;
    const amountMinor = amount === null || amount === undefined ? undefined : toPositiveMinor(amount, scale);
    const result = await this.posting.submitOne(
      {
        type: 'hold.capture',
        holdId: hold.id,
        amountMinor,
        ...(idempotencyKey
          ? { idempotency: idempotency(idempotencyKey, 'captureHold', { holdId: hold.id, amountMinor: amountMinor ?? null }) }
          : {}),
      },
      caller,
    );
    return this.holdOf(caller.networkId, result, scale);
  }

  async void(caller: Caller, id: string, idempotencyKey?: string | null): Promise<HoldRecord> {
    const hold = await this.plainHold(caller.networkId, id);
    const from = await this.accounts.requireFact(caller.networkId, hold.fromAccountId);
    const to = await this.accounts.requireFact(caller.networkId, hold.toAccountId);
    const onEitherSide =
      (caller.role === Role.MEMBER || caller.role === Role.TREASURER) && [from.partyId, to.partyId].includes(caller.partyId ?? '');
    if (caller.role !== Role.ADMIN && !onEitherSide) throw forbidden(`This API key may not void hold ${hold.id}`);
    const result = await this.posting.submitOne(
      {
        type: 'hold.void',
        holdId: hold.id,
        ...(idempotencyKey ? { idempotency: idempotency(idempotencyKey, 'voidHold', { holdId: hold.id }) } : {}),
      },
      caller,
    );
    return this.holdOf(caller.networkId, result, (await this.currencies.require(caller.networkId, from.currencyCode)).scale);
  }

  async find(caller: Caller, id: string): Promise<HoldRecord | null> {
    const hold = await this.holds.findById(caller.networkId, checkId(id));
    if (!hold) return null;
    return this.rules.required(caller, hold, 'hold');
  }

  async page(
    caller: Caller,
    args: { accountId: string; status?: HoldStatus | null; first?: number | null; after?: string | null },
  ): Promise<ConnectionShape<HoldRecord>> {
    return paginate(args, {
      cursor: ['string', 'string'],
      from: ([at, id]) => {
        const createdAt = parseInstant(at as string);
        if (Number.isNaN(createdAt.getTime())) throw validationFailed('after', 'not a cursor returned by this list');
        return { createdAt, id: checkId(id as string, 'after') };
      },
      fetch: async (after, limit) => {
        const account = await this.accounts.requireFact(caller.networkId, checkId(args.accountId, 'accountId'));
        await this.access.assertCanRead(caller, account);
        return this.holds.page(caller.networkId, { accountId: account.id, status: args.status ?? null, after, limit });
      },
      keyOf: (h) => [isoMicros(h.createdAt), h.id],
    });
  }

  /** A hold that may be captured or voided directly: it exists and belongs to no exchange. */
  private async plainHold(network: string, id: string): Promise<HoldRecord> {
    const hold = await this.holds.findById(network, checkId(id));
    if (!hold) throw notFound('hold', id);
    if (hold.kind === 'EXCHANGE') {
      throw validationFailed('id', `hold ${hold.id} belongs to a time bank exchange: confirm or dispute the exchange instead`);
    }
    return hold;
  }

  /** The hold of a posting result: the one the posting module has just written, or read back for a replay. */
  private async holdOf(network: string, result: OpResult, scale: number): Promise<HoldRecord> {
    if (result.type !== 'hold') throw new Error(`expected a hold from the posting module, got a ${result.type}`);
    if (result.hold && !result.replayed) return { ...result.hold, scale };
    const hold = await this.holds.findById(network, result.id);
    if (!hold) throw new Error(`hold ${result.id} is missing`);
    return hold;
  }
}
