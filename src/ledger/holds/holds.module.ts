import { Module } from '@nestjs/common';
import { HoldSweeper } from './hold-sweeper';
import { HoldRepository } from './hold.repository';
import { HoldResolver } from './hold.resolver';
import { HoldService } from './hold.service';
import { served } from '../ledger-data.module';
import { HoldReader } from '../ledger-readers';

const HOLD_READER = served(HoldReader, HoldRepository);

export const HOLD_RESOLVERS = [HoldResolver];

/** Two-phase holds over the posting module, and the sweeper that releases expired ones. */
@Module({
  providers: [...HOLD_RESOLVERS, HoldService, HoldRepository, HoldSweeper, HOLD_READER],
  exports: [HoldService, HoldRepository, HOLD_READER],
})
export class HoldsModule {}
