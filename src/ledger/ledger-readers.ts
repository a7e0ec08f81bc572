import type { AccountRepository } from './accounts/account.repository';
import type { CurrencyRepository } from './currencies/currency.repository';
import type { HoldRepository } from './holds/hold.repository';
import type { PartyRepository } from './parties/party.repository';

export type { AccountFacts } from './accounts/account.repository';

/*
 * The ledger's lookups that other folders (timebank, credit-union) may use. The repositories
 * are private to src/ledger (lint: boundaries/private-repositories); each reader is bound to its
 * repository in ledger-data.module.ts, so its methods are the repository's own, typed from it,
 * and cannot drift. Nothing here writes: value moves only through PostingService.
 */

export abstract class AccountReader {
  abstract readonly findById: AccountRepository['findById'];
  abstract readonly findByIds: AccountRepository['findByIds'];
  abstract readonly factsOf: AccountRepository['factsOf'];
  abstract readonly requireFact: AccountRepository['requireFact'];
  abstract readonly requireFacts: AccountRepository['requireFacts'];
  abstract readonly issuanceAccountId: AccountRepository['issuanceAccountId'];
}

export abstract class CurrencyReader {
  abstract readonly find: CurrencyRepository['find'];
  abstract readonly require: CurrencyRepository['require'];
}

export abstract class PartyReader {
  abstract readonly findById: PartyRepository['findById'];
  abstract readonly findByIds: PartyRepository['findByIds'];
  abstract readonly memberIds: PartyRepository['memberIds'];
}

export abstract class HoldReader {
  abstract readonly findById: HoldRepository['findById'];
}
