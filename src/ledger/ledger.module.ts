import { Module } from '@nestjs/common';
import { AccountResolver } from './accounts/account.resolver';
import { AccountService } from './accounts/account.service';
import { CurrencyResolver } from './currencies/currency.resolver';
import { CurrencyService } from './currencies/currency.service';
import { ApiKeyPartyResolver, MePartyResolver } from './parties/key-party.resolver';
import { PartyResolver } from './parties/party.resolver';
import { PartyService } from './parties/party.service';
import { ImportResolver } from './import/import.resolver';
import { ImportService } from './import/import.service';
import { VerifyResolver } from './query/verify.resolver';
import { VerifyService } from './query/verify.service';
import { PostingResolver, TransactionResolver } from './transactions/transaction.resolver';
import { TransactionService } from './transactions/transaction.service';

export const LEDGER_RESOLVERS = [
  PartyResolver,
  ApiKeyPartyResolver,
  MePartyResolver,
  CurrencyResolver,
  AccountResolver,
  TransactionResolver,
  PostingResolver,
  VerifyResolver,
  ImportResolver,
];

@Module({
  providers: [...LEDGER_RESOLVERS, ImportService, PartyService, CurrencyService, AccountService, TransactionService, VerifyService],
  exports: [PartyService, CurrencyService, AccountService, TransactionService, VerifyService],
})
export class LedgerModule {}
