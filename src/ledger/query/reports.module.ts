import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger.module';
import { ActivityRollupRepository } from './activity-rollup.repository';
import { ActivityRollupWorker } from './activity-rollup.worker';
import { ExportController } from './export.controller';
import { ExportResolver } from './export.resolver';
import { JournalExportService } from './journal-export.service';
import { ReportScope } from './report-scope';
import { ReportRepository } from './report.repository';
import { ActivityLineResolver, ReportResolver, StatementEntryResolver, TrialBalanceLineResolver } from './report.resolver';
import { ReportService } from './report.service';

export const REPORT_RESOLVERS = [ReportResolver, StatementEntryResolver, TrialBalanceLineResolver, ActivityLineResolver, ExportResolver];

/** Audit and reporting: statements, point-in-time balances, trial balances, activity (and its rollup worker) and exports. */
@Module({
  imports: [LedgerModule],
  controllers: [ExportController],
  providers: [
    ...REPORT_RESOLVERS,
    ReportRepository,
    ReportScope,
    ReportService,
    JournalExportService,
    ActivityRollupRepository,
    ActivityRollupWorker,
  ],
})
export class ReportsModule {}
