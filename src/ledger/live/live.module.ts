import { Module } from '@nestjs/common';
import { LiveRepository } from './live.repository';
import { PostedFeed } from './posted-feed';
import { TransactionPostedResolver } from './transaction-posted.resolver';

export const LIVE_RESOLVERS = [TransactionPostedResolver];

/** Live balance updates: the `transactionPosted` subscription over PostgreSQL LISTEN/NOTIFY. */
@Module({
  providers: [...LIVE_RESOLVERS, PostedFeed, LiveRepository],
  exports: [PostedFeed],
})
export class LiveModule {}
