import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger.module';
import { ReportScope } from './report-scope';
import { ReportRepository } from './report.repository';
import { ReportResolver, StatementEntryResolver, TrialBalanceLineResolver } from './report.resolver';
import { ReportService } from './report.service';

export const REPORT_RESOLVERS = [ReportResolver, StatementEntryResolver, TrialBalanceLineResolver];

/** Audit and reporting: statements, point-in-time balances, trial balances and exports. */
@Module({
  imports: [LedgerModule],
  providers: [...REPORT_RESOLVERS, ReportRepository, ReportScope, ReportService],
})
export class ReportsModule {}
