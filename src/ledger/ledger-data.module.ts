import { Global, Module, type Provider } from '@nestjs/common';
import { AccountDirectory, CurrencyDirectory, PartyDirectory } from '../identity/directory';
import { AccountRepository } from './accounts/account.repository';
import { CurrencyRepository } from './currencies/currency.repository';
import { PostedPayloads } from './events/posted-payloads';
import { AccountReader, CurrencyReader, PartyReader } from './ledger-readers';
import { PartyRepository } from './parties/party.repository';
import { PostingMetrics } from './posting/posting-metrics';
import { PostingService } from './posting/posting.service';
import { TransactionReader } from './transactions/transaction.reader';

/**
 * Binds a lookup another folder declares (an abstract class used as the injection token) to the
 * ledger store that serves it; the compiler checks that the store has the declared methods.
 */
export function served<T>(token: abstract new (...args: never[]) => T, store: new (...args: never[]) => T): Provider {
  return { provide: token, useExisting: store };
}

const LOOKUPS = [
  served(AccountReader, AccountRepository),
  served(CurrencyReader, CurrencyRepository),
  served(PartyReader, PartyRepository),
  // identity decides who may read and move what from parties, accounts and currencies, without importing the ledger.
  served(PartyDirectory, PartyRepository),
  served(AccountDirectory, AccountRepository),
  served(CurrencyDirectory, CurrencyRepository),
];

/** The ledger's stores and its one writer, shared by every feature module (through its readers). */
@Global()
@Module({
  providers: [
    PartyRepository,
    CurrencyRepository,
    AccountRepository,
    TransactionReader,
    PostingService,
    PostingMetrics,
    PostedPayloads,
    ...LOOKUPS,
  ],
  exports: [PartyRepository, CurrencyRepository, AccountRepository, TransactionReader, PostingService, PostedPayloads, ...LOOKUPS],
})
export class LedgerDataModule {}
