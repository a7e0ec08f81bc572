import { Inject, Injectable, Logger } from '@nestjs/common';
import { assertUnreachable, validationFailed } from '../../common/domain-error';
import { compareInstants } from '../../common/instant';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import type { Caller } from '../../identity/caller';
import type { CurrencyRecord } from '../currencies/currency.record';
import { CurrencyService } from '../currencies/currency.service';
import { fromMinor } from '../money/amount';
import { csvRow, number, text } from './csv';
import { EXTERNAL_ROOT, type JournalCommodity, journalDate, JournalWriter, OWN_ROOT } from './hledger-journal';
import { ExportFormat } from './report.models';
import { ReportScope } from './report-scope';
import { type AccountSet, type ExportTransactionRow, ReportRepository } from './report.repository';

/** Transactions read from the database per page: memory stays bounded whatever the export's size. */
export const EXPORT_PAGE = 500;
/** A progress line is logged every this many transactions. */
const PROGRESS_EVERY = 20_000;

export const CSV_HEADER = [
  'date',
  'sequence',
  'transaction_id',
  'kind',
  'account',
  'party',
  'amount',
  'memo',
  'external_ref',
  'posted_at',
  'currency',
  'balance_after',
];

export interface ExportRequest {
  readonly currency: string;
  readonly from: Date | null;
  readonly to: Date | null;
  readonly format: ExportFormat;
}

/** An export checked and pinned to a sequence window, ready to be written. */
export interface PreparedExport {
  readonly currency: CurrencyRecord;
  readonly format: ExportFormat;
  /** A name for the downloaded file. */
  readonly fileName: string;
  /** The export's text, a page at a time. */
  chunks(): AsyncGenerator<string>;
}

interface Plan {
  readonly caller: Caller;
  readonly request: ExportRequest;
  readonly currency: CurrencyRecord;
  readonly commodity: JournalCommodity;
  readonly accounts: AccountSet;
  readonly inScope: (accountId: string) => boolean;
  /** Transactions with lo < sequence <= hi. */
  readonly lo: bigint;
  readonly hi: bigint;
  readonly exportedAt: Date;
}

/**
 * Journal exports: an hledger journal carrying the hash chain, or a CSV of postings. Both are
 * produced a page of transactions at a time (keyset on sequence within a window fixed when the
 * export starts), so an export of any size holds one page in memory and sees one consistent
 * ledger while new transactions arrive.
 */
@Injectable()
export class JournalExportService {
  private readonly log = new Logger('Export');

  constructor(
    private readonly reports: ReportRepository,
    private readonly currencies: CurrencyService,
    private readonly scope: ReportScope,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Checks the request and the caller's rights before any byte is written. */
  async prepare(caller: Caller, request: ExportRequest): Promise<PreparedExport> {
    if (request.from && request.to && compareInstants(request.from, request.to) >= 0)
      throw validationFailed('to', 'must be later than from');
    const network = caller.networkId;
    const currency = await this.currencies.get(network, request.currency);
    const accounts = await this.scope.accountsOf(caller, currency);
    const [lo, hi] = await Promise.all([
      request.from ? this.reports.sequenceBefore(network, request.from) : Promise.resolve(0n),
      request.to ? this.reports.sequenceBefore(network, request.to) : this.reports.head(network).then((h) => h.sequence),
    ]);
    const ids = accounts.all ? null : new Set(accounts.ids);
    const plan: Plan = {
      caller,
      request,
      currency,
      commodity: { code: currency.code, scale: currency.scale },
      accounts,
      inScope: (id) => ids === null || ids.has(id),
      lo,
      hi: hi < lo ? lo : hi,
      exportedAt: new Date(Date.now() + this.config.clockOffsetMs),
    };
    const extension = request.format === ExportFormat.CSV ? 'csv' : 'journal';
    const period = `${request.from ? journalDate(request.from) : 'start'}-to-${request.to ? journalDate(request.to) : 'now'}`;
    return {
      currency,
      format: request.format,
      fileName: `solidarity-ledger-${currency.code}-${period}.${extension}`,
      chunks: () => this.chunks(plan),
    };
  }

  /** The whole export as one string, for GraphQL; refused beyond EXPORT_MAX_STRING_BYTES (8 MiB by default). */
  async asString(caller: Caller, request: ExportRequest): Promise<string> {
    const prepared = await this.prepare(caller, request);
    const parts: string[] = [];
    let bytes = 0;
    for await (const chunk of prepared.chunks()) {
      bytes += Buffer.byteLength(chunk);
      if (bytes > this.config.exportMaxStringBytes) {
        throw validationFailed(
          'to',
          `the export is larger than ${this.config.exportMaxStringBytes} bytes: narrow the period, or download it from GET /exports/journal, which streams`,
        );
      }
      parts.push(chunk);
    }
    return parts.join('');
  }

  private chunks(plan: Plan): AsyncGenerator<string> {
    switch (plan.request.format) {
      case ExportFormat.HLEDGER:
        return this.hledger(plan);
      case ExportFormat.CSV:
        return this.csv(plan);
      default:
        return assertUnreachable(plan.request.format);
    }
  }

  /** Every transaction of the window that the export includes, a page at a time. */
  private async *pages(plan: Plan): AsyncGenerator<ExportTransactionRow[]> {
    const startedMs = Date.now();
    let after = plan.lo;
    let written = 0;
    let nextReport = PROGRESS_EVERY;
    for (;;) {
      const page = await this.reports.exportPage(plan.caller.networkId, plan.currency.code, plan.accounts, after, plan.hi, EXPORT_PAGE);
      if (page.length === 0) break;
      yield page;
      written += page.length;
      after = (page.at(-1) as ExportTransactionRow).sequence;
      if (written >= nextReport) {
        nextReport += PROGRESS_EVERY;
        this.log.log(
          `${plan.request.format} export of ${plan.currency.code} for key ${plan.caller.apiKeyId}: ${written} transactions, ` +
            `at #${after} of #${plan.hi}, ${Math.round((Date.now() - startedMs) / 1000)} s`,
        );
      }
      if (page.length < EXPORT_PAGE) break;
    }
    if (written >= PROGRESS_EVERY) {
      this.log.log(`${plan.request.format} export of ${plan.currency.code} done: ${written} transactions in ${Date.now() - startedMs} ms`);
    }
  }

  private async *hledger(plan: Plan): AsyncGenerator<string> {
    const writer = new JournalWriter(plan.commodity, plan.inScope);
    yield writer.header(this.headerComments(plan));
    if (plan.lo > 0n && plan.request.from) {
      yield writer.opening(journalDate(plan.request.from), await this.openingRows(plan), !plan.accounts.all);
    }
    for await (const page of this.pages(plan)) {
      yield page.map((tx) => writer.transaction(tx)).join('');
    }
    yield writer.close(await this.reports.balancesAtSequence(plan.caller.networkId, writer.ownAccounts(), plan.hi), plan.exportedAt);
  }

  private headerComments(plan: Plan): string[] {
    const { currency, request } = plan;
    const from = request.from ? `from ${request.from.toISOString()}` : 'from the first transaction';
    const to = request.to ? `to just before ${request.to.toISOString()}` : `to the last transaction when exported (#${plan.hi})`;
    return [
      'Solidarity Ledger journal export',
      `currency: ${currency.code} (${currency.name}), ${currency.kind}, ${currency.scale} decimal places`,
      `period: ${from} ${to}; transactions after #${plan.lo} up to #${plan.hi}`,
      plan.accounts.all
        ? 'accounts: every account of the currency'
        : `accounts: those this API key may read, under ${OWN_ROOT}:; others in the same transactions appear under ${EXTERNAL_ROOT}:`,
      `exported at ${plan.exportedAt.toISOString()}`,
      'check it offline with `npm run verify -- FILE` (recipe: docs/hash-chain.md)',
    ];
  }

  /** Balances just before the period of the accounts in scope, with their holders' names. */
  private async openingRows(plan: Plan): Promise<{ accountId: string; partyName: string; amountMinor: bigint }[]> {
    if (plan.accounts.all) {
      const rows = await this.reports.nonZeroBalancesAt(plan.caller.networkId, plan.currency.code, plan.lo);
      return rows.map((row) => ({ accountId: row.accountId, partyName: row.partyName, amountMinor: row.balanceMinor }));
    }
    const network = plan.caller.networkId;
    const balances = await this.reports.balancesAtSequence(network, plan.accounts.ids, plan.lo);
    const nonZero = [...balances].filter(([, balance]) => balance !== 0n);
    const holders = await this.reports.accountHolders(
      network,
      nonZero.map(([id]) => id),
    );
    return nonZero.map(([id, amountMinor]) => ({ accountId: id, partyName: holders.get(id)?.partyName ?? '', amountMinor }));
  }

  private async *csv(plan: Plan): AsyncGenerator<string> {
    const scale = plan.currency.scale;
    yield csvRow(CSV_HEADER.map((h) => text(h)));
    for await (const page of this.pages(plan)) {
      let chunk = '';
      for (const tx of page) {
        for (const p of tx.postings) {
          if (p.currencyCode !== plan.currency.code || !plan.inScope(p.accountId)) continue;
          chunk += csvRow([
            text(journalDate(tx.postedAt)),
            number(tx.sequence.toString()),
            text(tx.id),
            text(tx.kind),
            text(p.accountId),
            text(p.partyName),
            number(fromMinor(p.amountMinor, scale)),
            text(tx.memo),
            text(tx.externalRef),
            text(tx.postedAt.toISOString()),
            text(plan.currency.code),
            number(fromMinor(p.balanceAfterMinor, scale)),
          ]);
        }
      }
      yield chunk;
    }
  }
}
