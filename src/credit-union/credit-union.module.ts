import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { DepositResolver } from './deposit.resolver';
import { DepositService } from './deposit.service';
import { DistributionResolver } from './distribution.resolver';
import { DistributionService } from './distribution.service';
import { ReconciliationResolver } from './reconciliation.resolver';
import { ReconciliationService } from './reconciliation.service';

export const CREDIT_UNION_RESOLVERS = [DepositResolver, DistributionResolver, ReconciliationResolver];

/** Local dollars (deposits, withdrawals, batches, reconciliation) and distributions (royalty splits). */
@Module({
  imports: [LedgerModule],
  providers: [...CREDIT_UNION_RESOLVERS, DepositService, DistributionService, ReconciliationService],
})
export class CreditUnionModule {}
