import { Module } from '@nestjs/common';
import { HoldsModule } from '../ledger/holds/holds.module';
import { ExchangeRepository } from './exchanges/exchange.repository';
import { ExchangeResolver } from './exchanges/exchange.resolver';
import { ExchangeService } from './exchanges/exchange.service';
import { ListingRepository } from './listings/listing.repository';
import { OfferResolver, RequestResolver } from './listings/listing.resolver';
import { ListingService } from './listings/listing.service';

export const TIMEBANK_RESOLVERS = [ExchangeResolver, OfferResolver, RequestResolver];

/** The time bank: exchanges of hours, offers and requests. Moves value only through the posting module. */
@Module({
  imports: [HoldsModule],
  providers: [...TIMEBANK_RESOLVERS, ExchangeService, ExchangeRepository, ListingService, ListingRepository],
})
export class TimebankModule {}
