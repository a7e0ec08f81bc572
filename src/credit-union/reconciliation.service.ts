import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, validationFailed } from '../common/domain-error';
import { AccessService } from '../identity/access.service';
import type { Caller } from '../identity/caller';
import { CurrencyKind } from '../ledger/currencies/currency.model';
import { toCurrencyModel } from '../ledger/currencies/currency.mapper';
import { CurrencyService } from '../ledger/currencies/currency.service';
import { fromMinor, toMinor } from '../ledger/money/amount';
import type { Reconciliation } from './reconciliation.model';
import { AccountReader } from '../ledger/ledger-readers';

/**
 * Local dollars are backed one-for-one by a reserve the credit union holds outside the ledger.
 * Every deposit lowers the issuance account by what it puts in circulation, so the circulation
 * is minus the issuance account's balance; reconciliation compares it with the reported reserve.
 */
@Injectable()
export class ReconciliationService {
  constructor(
    private readonly currencies: CurrencyService,
    private readonly accounts: AccountReader,
    private readonly access: AccessService,
  ) {}

  async reconcile(caller: Caller, currencyCode: string, reserve: string): Promise<Reconciliation> {
    const currency = await this.currencies.get(caller.networkId, currencyCode);
    await this.access.assertCanReconcile(caller, currency.code);
    if (currency.kind !== CurrencyKind.MONEY) {
      throw validationFailed('currency', 'time credits are mutual credit: only a local dollar has a reserve to reconcile');
    }
    const reserveMinor = toMinor(reserve, currency.scale);
    if (reserveMinor < 0n) throw new DomainError(ErrorCode.INVALID_AMOUNT, 'a reserve is zero or more');
    const issuanceId = await this.accounts.issuanceAccountId(caller.networkId, currency.code);
    const issuance = issuanceId ? await this.accounts.findById(caller.networkId, issuanceId) : undefined;
    if (!issuance) throw new Error(`${currency.code} has no issuance account`);
    const circulationMinor = -issuance.postedMinor;
    const differenceMinor = reserveMinor - circulationMinor;
    return {
      currency: toCurrencyModel(currency),
      circulation: fromMinor(circulationMinor, currency.scale),
      reserve: fromMinor(reserveMinor, currency.scale),
      difference: fromMinor(differenceMinor, currency.scale),
      balanced: differenceMinor === 0n,
      asOf: new Date(),
    };
  }
}
