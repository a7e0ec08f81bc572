import { Global, Module } from '@nestjs/common';
import { AccountRepository } from './accounts/account.repository';
import { CurrencyRepository } from './currencies/currency.repository';
import { PartyRepository } from './parties/party.repository';
import { PostingService } from './posting/posting.service';
import { TransactionReader } from './transactions/transaction.reader';

/** The ledger's stores and its one writer, shared by every feature module. */
@Global()
@Module({
  providers: [PartyRepository, CurrencyRepository, AccountRepository, TransactionReader, PostingService],
  exports: [PartyRepository, CurrencyRepository, AccountRepository, TransactionReader, PostingService],
})
export class LedgerDataModule {}
