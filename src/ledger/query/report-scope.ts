import { Injectable } from '@nestjs/common';
import { forbidden, validationFailed } from '../../common/domain-error';
import { AccessService } from '../../identity/access.service';
import type { Caller } from '../../identity/caller';
import type { CurrencyRecord } from '../currencies/currency.record';
import { type AccountSet, ReportRepository } from './report.repository';

/** A treasurer's organisation and members may hold at most this many accounts of one currency in a report. */
export const MAX_SCOPED_ACCOUNTS = 10_000;

/**
 * Which accounts of a currency a report may show to a caller (SPEC section 5): admins and
 * auditors every account; an integration every account of the currency its credit union issues
 * and nothing of another; a member its own party's accounts; a treasurer its organisation's and
 * its members' accounts.
 */
@Injectable()
export class ReportScope {
  constructor(
    private readonly access: AccessService,
    private readonly reports: ReportRepository,
  ) {}

  async accountsOf(caller: Caller, currency: CurrencyRecord): Promise<AccountSet> {
    const scope = await this.access.readScope(caller);
    if (scope.all) return { all: true };
    if ('issuerPartyId' in scope) {
      if (currency.issuerPartyId !== scope.issuerPartyId) throw forbidden(`This API key may not read ${currency.code} accounts`);
      return { all: true };
    }
    const rows = await this.reports.accountsOfParties(caller.networkId, currency.code, scope.partyIds, MAX_SCOPED_ACCOUNTS + 1);
    if (rows.length > MAX_SCOPED_ACCOUNTS) {
      throw validationFailed('currency', `more than ${MAX_SCOPED_ACCOUNTS} accounts are in scope; ask an auditor for this report`);
    }
    return { all: false, ids: rows.map((r) => r.id) };
  }
}
