import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import { Database } from '../../database/database';
import { AccountRepository } from '../accounts/account.repository';
import { PartyKind } from '../parties/party.record';
import { PartyRepository } from '../parties/party.repository';
import { cleanText } from '../../common/text';
import { CurrencyKind } from './currency.model';
import type { CurrencyRecord } from './currency.record';
import { type CurrencyDefaults, CurrencyRepository } from './currency.repository';
import { toBoundMinor } from '../money/amount';

const CODE = /^[A-Z0-9_]{2,12}$/;

/** Currency-wide defaults as decimal text; absent or null: no default. */
export interface DefaultBounds {
  readonly defaultCreditLimit?: string | null;
  readonly defaultMaxBalance?: string | null;
}

function parseDefaults(defaults: DefaultBounds, scale: number): CurrencyDefaults {
  const parse = (text: string | null | undefined, what: string) => (text == null ? null : toBoundMinor(text, scale, what));
  return {
    creditLimitMinor: parse(defaults.defaultCreditLimit, 'a default credit limit'),
    maxBalanceMinor: parse(defaults.defaultMaxBalance, 'a default maximum balance'),
  };
}

@Injectable()
export class CurrencyService {
  constructor(
    private readonly db: Database,
    private readonly currencies: CurrencyRepository,
    private readonly parties: PartyRepository,
    private readonly accounts: AccountRepository,
  ) {}

  /**
   * Creates a currency. A MONEY currency names its issuing credit union and gets, in the same
   * transaction, the one unlimited issuance account from which deposits are issued.
   */
  async create(
    network: string,
    code: string,
    name: string,
    kind: CurrencyKind,
    scale: number,
    issuerPartyId: string | null | undefined,
    defaults: DefaultBounds = {},
  ): Promise<CurrencyRecord> {
    if (!CODE.test(code)) throw validationFailed('code', '2 to 12 of A-Z, 0-9 and _');
    if (!Number.isInteger(scale) || scale < 0 || scale > 8) throw validationFailed('scale', 'must be between 0 and 8');
    const cleanName = cleanText(name, 'name', 100, true) as string;
    let issuer: string | null = null;
    if (kind === CurrencyKind.MONEY) {
      if (!issuerPartyId) throw validationFailed('issuerPartyId', 'a MONEY currency needs its issuing credit union');
      const party = await this.parties.findById(network, checkId(issuerPartyId, 'issuerPartyId'));
      if (!party) throw notFound('party', issuerPartyId);
      if (party.kind !== PartyKind.CREDIT_UNION)
        throw validationFailed('issuerPartyId', 'the issuer of a MONEY currency must be a CREDIT_UNION');
      issuer = party.id;
    } else if (issuerPartyId) {
      throw validationFailed('issuerPartyId', 'TIME currencies are mutual credit and have no issuer');
    }
    const currency: CurrencyRecord = { networkId: network, code, name: cleanName, kind, scale, issuerPartyId: issuer };
    const parsedDefaults = parseDefaults(defaults, scale);
    await this.db.transaction(async (tx) => {
      if (!(await this.currencies.insert(tx, currency))) throw validationFailed('code', `currency ${code} already exists`);
      await this.currencies.setDefaults(tx, network, code, parsedDefaults);
      if (issuer) {
        await this.accounts.insert(tx, {
          networkId: network,
          id: randomUUID(),
          partyId: issuer,
          currencyCode: code,
          creditLimitMinor: 0n,
          unlimited: true,
        });
      }
    });
    return currency;
  }

  /** Changes the defaults for accounts opened later; accounts already open keep their bounds. */
  async setDefaults(network: string, code: string, defaults: DefaultBounds): Promise<CurrencyRecord> {
    const currency = await this.get(network, code);
    await this.currencies.setDefaults(this.db, network, currency.code, parseDefaults(defaults, currency.scale));
    return currency;
  }

  defaults(network: string, code: string): Promise<CurrencyDefaults> {
    return this.currencies.defaults(network, code);
  }

  defaultsOf(network: string, codes: readonly string[]): Promise<Map<string, CurrencyDefaults>> {
    return this.currencies.defaultsOf(network, codes);
  }

  /** A currency of `network`, or NOT_FOUND: the same code in another network is another currency. */
  async get(network: string, code: string): Promise<CurrencyRecord> {
    const currency = await this.find(network, code);
    if (!currency) throw notFound('currency', code);
    return currency;
  }

  async find(network: string, code: string): Promise<CurrencyRecord | undefined> {
    if (typeof code !== 'string' || !CODE.test(code)) return undefined;
    return this.currencies.find(network, code);
  }

  all(network: string): Promise<CurrencyRecord[]> {
    return this.currencies.all(network);
  }
}
