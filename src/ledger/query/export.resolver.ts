import { Args, Query, Resolver } from '@nestjs/graphql';
import { Allow, CurrentCaller } from '../../identity/auth.guard';
import { type Caller, READERS } from '../../identity/caller';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';
import { JournalExportService } from './journal-export.service';
import { ExportFormat } from './report.models';

@Resolver()
export class ExportResolver {
  constructor(private readonly exports: JournalExportService) {}

  @Query(() => String, {
    description:
      'The journal of a currency over [from, to) as hledger text or CSV, limited to the accounts the caller may read. ' +
      'At most EXPORT_MAX_STRING_BYTES (8 MiB) here; GET /exports/journal streams exports of any size. See docs/reports.md.',
  })
  @Allow(...READERS)
  exportJournal(
    @CurrentCaller() caller: Caller,
    @Args('currency') currency: string,
    @Args('from', { type: () => DateTimeScalar, nullable: true }) from: Date | null,
    @Args('to', { type: () => DateTimeScalar, nullable: true }) to: Date | null,
    @Args('format', { type: () => ExportFormat }) format: ExportFormat,
  ): Promise<string> {
    return this.exports.asString(caller, { currency, from, to, format });
  }
}
