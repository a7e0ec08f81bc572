import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger.module';
import { ExportController } from './export.controller';
import { ExportResolver } from './export.resolver';
import { JournalExportService } from './journal-export.service';
import { ReportScope } from './report-scope';
import { ReportRepository } from './report.repository';
import { ActivityLineResolver, ReportResolver, StatementEntryResolver, TrialBalanceLineResolver } from './report.resolver';
import { ReportService } from './report.service';

export const REPORT_RESOLVERS = [ReportResolver, StatementEntryResolver, TrialBalanceLineResolver, ActivityLineResolver, ExportResolver];

/** Audit and reporting: statements, point-in-time balances, trial balances and exports. */
@Module({
  imports: [LedgerModule],
  controllers: [ExportController],
  providers: [...REPORT_RESOLVERS, ReportRepository, ReportScope, ReportService, JournalExportService],
})
export class ReportsModule {}
