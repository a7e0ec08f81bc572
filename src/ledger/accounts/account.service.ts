import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { Database } from '../../database/database';
import { type ConnectionShape, paginate } from '../../graphql/pagination';
import { AccessService } from '../../identity/access.service';
import type { Caller } from '../../identity/caller';
import { CurrencyKind } from '../currencies/currency.model';
import { CurrencyService } from '../currencies/currency.service';
import { toBoundMinor } from '../money/amount';
import { cleanText } from '../../common/text';
import { PartyService } from '../parties/party.service';
import { PostingService } from '../posting/posting.service';
import type { AccountRecord } from './account.record';
import { AccountRepository } from './account.repository';

/** A new account's own bounds, as decimal text; absent: the currency's default applies. */
export interface AccountBounds {
  readonly creditLimit?: string | null;
  readonly maxBalance?: string | null;
}

@Injectable()
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountRepository,
    private readonly currencies: CurrencyService,
    private readonly parties: PartyService,
    private readonly access: AccessService,
    private readonly posting: PostingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Opens an account. Each bound comes from, in order: the argument, the currency's default, and
   * for the credit limit `DEFAULT_TIME_CREDIT_LIMIT` (TIME) or 0; no maximum balance otherwise.
   */
  async open(
    network: string,
    partyId: string,
    currencyCode: string,
    bounds: AccountBounds,
    unlimited: boolean | null | undefined,
    id: string = randomUUID(),
  ): Promise<AccountRecord> {
    const party = await this.parties.get(network, partyId);
    const currency = await this.currencies.get(network, currencyCode);
    if (unlimited) {
      if (currency.kind !== CurrencyKind.MONEY || currency.issuerPartyId !== party.id) {
        throw validationFailed('unlimited', 'only the issuing credit union holds an unlimited (issuance) account');
      }
      if (await this.accounts.issuanceAccountId(network, currency.code)) {
        throw validationFailed('unlimited', `${currency.code} already has its issuance account`);
      }
    }
    const defaults = await this.currencies.defaults(network, currency.code);
    const limitText = bounds.creditLimit ?? (currency.kind === CurrencyKind.TIME ? this.config.defaultTimeCreditLimit : '0');
    const limitMinor =
      bounds.creditLimit == null && defaults.creditLimitMinor !== null
        ? defaults.creditLimitMinor
        : this.limitMinor(limitText, currency.scale);
    const maxMinor =
      bounds.maxBalance != null ? toBoundMinor(bounds.maxBalance, currency.scale, 'a maximum balance') : defaults.maxBalanceMinor;
    await this.accounts.insert(this.db, {
      networkId: network,
      id,
      partyId: party.id,
      currencyCode: currency.code,
      creditLimitMinor: unlimited ? 0n : limitMinor,
      maxBalanceMinor: unlimited ? null : maxMinor,
      unlimited: !!unlimited,
    });
    return this.mustFind(network, id);
  }

  /** Sets the maximum balance, or removes it (null). Postings already made stand. */
  async setMaxBalance(network: string, id: string, maxBalance: string | null | undefined): Promise<AccountRecord> {
    const account = await this.mustFind(network, id);
    if (account.unlimited) throw validationFailed('accountId', 'an issuance account has no maximum balance');
    const maxMinor = maxBalance == null ? null : toBoundMinor(maxBalance, account.scale, 'a maximum balance');
    await this.accounts.setMaxBalance(network, account.id, maxMinor);
    return this.mustFind(network, id);
  }

  async setCreditLimit(network: string, id: string, creditLimit: string): Promise<AccountRecord> {
    const account = await this.mustFind(network, id);
    if (account.unlimited) throw validationFailed('accountId', 'an issuance account has no credit limit');
    await this.accounts.setCreditLimit(network, account.id, this.limitMinor(creditLimit, account.scale));
    return this.mustFind(network, id);
  }

  async freeze(network: string, id: string, reason: string | null | undefined): Promise<AccountRecord> {
    const account = await this.mustFind(network, id);
    if (account.status === 'CLOSED') throw new DomainError(ErrorCode.ACCOUNT_CLOSED, `account ${account.id} is closed`);
    await this.accounts.setStatus(network, account.id, 'OPEN', 'FROZEN', cleanText(reason, 'reason', 500, false));
    return this.mustFind(network, id);
  }

  async unfreeze(network: string, id: string): Promise<AccountRecord> {
    const account = await this.mustFind(network, id);
    if (account.status === 'CLOSED') throw new DomainError(ErrorCode.ACCOUNT_CLOSED, `account ${account.id} is closed`);
    await this.accounts.setStatus(network, account.id, 'FROZEN', 'OPEN', null);
    return this.mustFind(network, id);
  }

  /** Closes an account at zero with no live hold; holds already expired are released first. */
  async close(network: string, id: string): Promise<AccountRecord> {
    const account = await this.mustFind(network, id);
    if (account.status === 'CLOSED') return account;
    if (account.postedMinor !== 0n) throw validationFailed('accountId', 'only an account with a zero balance can be closed');
    if (account.pendingDebitsMinor !== 0n || account.pendingCreditsMinor !== 0n) {
      throw validationFailed('accountId', 'the account has pending holds; capture or void them first');
    }
    if (!(await this.accounts.close(network, account.id))) {
      await this.posting.submitOne({ type: 'hold.sweep', limit: 1000 }, { apiKeyId: null, networkId: network });
      if (!(await this.accounts.close(network, account.id))) {
        throw validationFailed('accountId', 'the account changed meanwhile and is not at zero');
      }
    }
    return this.mustFind(network, id);
  }

  /**
   * Any key finds any account of its network (the directory: SPEC B.1, so a member can find whom
   * to pay); its balance and limit fields check that the caller may read it (AccountResolver).
   */
  async find(network: string, id: string): Promise<AccountRecord | null> {
    return (await this.accounts.findById(network, checkId(id))) ?? null;
  }

  async page(
    caller: Caller,
    partyId: string | null | undefined,
    currency: string | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<ConnectionShape<AccountRecord>> {
    return paginate(
      { first, after },
      {
        cursor: ['string'],
        from: ([id]) => checkId(id as string, 'after'),
        fetch: async (afterId, limit) => {
          // Naming a party lists its accounts to any key (the directory); without one, the accounts the caller may read.
          const filter = partyId
            ? { partyIds: [checkId(partyId, 'partyId')], currencyCode: currency ?? null, issuerPartyId: null }
            : await this.access.scopeFilter(caller, null, currency ?? null);
          return this.accounts.page(caller.networkId, filter, afterId, limit);
        },
        keyOf: (r) => [r.id],
      },
    );
  }

  private async mustFind(network: string, id: string): Promise<AccountRecord> {
    const account = await this.accounts.findById(network, checkId(id, 'accountId'));
    if (!account) throw notFound('account', id);
    return account;
  }

  private limitMinor(text: string, scale: number): bigint {
    return toBoundMinor(text, scale, 'a credit limit (how far below zero the account may go)');
  }
}
