import { Injectable } from '@nestjs/common';
import { notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import { compareInstants } from '../../common/instant';
import { decodeCursor, pageSize, toConnection } from '../../graphql/pagination';
import { AccessService } from '../../identity/access.service';
import type { Caller } from '../../identity/caller';
import { AccountRepository } from '../accounts/account.repository';
import { CurrencyRepository } from '../currencies/currency.repository';
import { CurrencyService } from '../currencies/currency.service';
import { fromMinor } from '../money/amount';
import { type Activity, type Statement, type StatementEntry, type TrialBalance } from './report.models';
import { ReportScope } from './report-scope';
import { csvRow, number, text } from './csv';
import { type AccountSet, ReportRepository, type StatementRow } from './report.repository';
import { toCurrencyModel } from '../currencies/currency.mapper';
import type { CurrencyRecord } from '../currencies/currency.record';
import type { AccountRecord } from '../accounts/account.record';

const ACTIVITY_CSV_PAGE = 500;

export interface ActivityArgs {
  readonly currency: string;
  readonly from: Date;
  readonly to: Date;
  readonly first?: number | null;
  readonly after?: string | null;
}

export interface StatementArgs {
  readonly accountId: string;
  readonly from?: Date | null;
  readonly to?: Date | null;
  readonly first?: number | null;
  readonly after?: string | null;
}

/** The sequence window of a statement, fixed by its first page and carried in its cursors. */
interface Window {
  /** Entries have lo < sequence <= hi; the opening balance is the balance just after #lo. */
  readonly lo: bigint;
  readonly hi: bigint;
  /** The last sequence already shown. */
  readonly after: bigint;
}

/**
 * Point-in-time balances, statements and trial balances. Instants become sequences (posting time
 * never decreases along the sequence), and balances at a sequence are read from the running
 * balance stored on each posting, so every answer costs a few index probes whatever the length
 * of the history. See docs/reports.md.
 */
@Injectable()
export class ReportService {
  constructor(
    private readonly reports: ReportRepository,
    private readonly accounts: AccountRepository,
    private readonly currencies: CurrencyRepository,
    private readonly currencyService: CurrencyService,
    private readonly access: AccessService,
    private readonly scope: ReportScope,
  ) {}

  async balanceAt(caller: Caller, accountId: string, asOf: Date): Promise<string> {
    const network = caller.networkId;
    const account = await this.accounts.requireFact(network, checkId(accountId, 'accountId'));
    await this.access.assertCanRead(caller, account);
    const currency = await this.currencies.require(network, account.currencyCode);
    return fromMinor(await this.reports.balanceAt(network, account.id, asOf), currency.scale);
  }

  /**
   * One wait on the database: the account and the whole page (its window, from the period or
   * the cursor, both balances and the entries) are one function call, see
   * `ReportRepository.statementPage`. The read rule is applied to the account before anything
   * of the page is returned.
   */
  async statement(caller: Caller, args: StatementArgs): Promise<Statement> {
    const size = pageSize(args.first);
    if (args.from && args.to && compareInstants(args.from, args.to) >= 0) throw validationFailed('to', 'must be later than from');
    const network = caller.networkId;
    const accountId = checkId(args.accountId, 'accountId');
    const window = this.windowFromCursor(args.after) ?? { from: args.from ?? null, to: args.to ?? null };
    const page = await this.reports.statementPage(network, accountId, window, size + 1);
    if (!page) throw notFound('account', args.accountId);
    const account = page.account;
    await this.access.assertCanRead(caller, account);
    const entry = (row: StatementRow): StatementEntry => ({
      transactionId: row.transactionId,
      amount: fromMinor(row.amountMinor, account.scale),
      balance: fromMinor(row.balanceAfterMinor, account.scale),
      postedAt: row.postedAt,
    });
    const lo = page.lo.toString();
    const hi = page.hi.toString();
    return {
      account,
      openingBalance: fromMinor(page.openingMinor, account.scale),
      closingBalance: fromMinor(page.closingMinor, account.scale),
      entries: toConnection(page.rows, size, entry, (row) => [row.sequence.toString(), lo, hi]),
    };
  }

  async trialBalance(caller: Caller, currencyCode: string, asOf: Date | null | undefined): Promise<TrialBalance> {
    const network = caller.networkId;
    const currency = await this.currencyService.get(network, currencyCode);
    const accounts = await this.scope.accountsOf(caller, currency);
    let at: Date;
    let rows: { accountId: string; balanceMinor: bigint; account?: AccountRecord }[];
    if (asOf) {
      at = asOf;
      rows =
        !accounts.all && accounts.ids.length === 0
          ? []
          : await this.reports.balancesAt(network, currency.code, accounts, await this.reports.sequenceAtOrBefore(network, asOf));
    } else {
      // Now: the stored balances, which the posting module keeps equal to the last running
      // balance of each account, read in one snapshot with the posting time of the last
      // transaction in it. Every later transaction is posted strictly after that instant, so
      // asking again with this asOf gives the same lines, always.
      const current = await this.reports.currentBalances(network, currency, accounts);
      at = current.asOf;
      rows = current.rows;
    }
    const total = rows.reduce((sum, row) => sum + row.balanceMinor, 0n);
    return {
      currency: toCurrencyModel(currency),
      asOf: at,
      lines: rows.map((row) => ({
        accountId: row.accountId,
        accountRecord: row.account,
        balance: fromMinor(row.balanceMinor, currency.scale),
      })),
      total: fromMinor(total, currency.scale),
    };
  }

  /**
   * Activity over [from, to): the period becomes a sequence window when the first page is read
   * and travels in the cursors, so every page belongs to the same report. Scoped like trial
   * balances (a member: its own accounts).
   */
  async activity(caller: Caller, args: ActivityArgs): Promise<Activity> {
    if (compareInstants(args.from, args.to) >= 0) throw validationFailed('to', 'must be later than from');
    const size = pageSize(args.first);
    const network = caller.networkId;
    const { currency, accounts } = await this.activityScope(caller, args);
    const cursor = decodeCursor(args.after, ['string', 'string', 'string']);
    const window = cursor ? activityWindow(cursor as string[]) : await this.newWindow(network, args.from, args.to);
    const afterId = cursor ? checkId(cursor[0] as string, 'after') : null;
    const page = await this.reports.activityPage(network, currency.code, accounts, window, afterId, size + 1);
    const amount = (minor: bigint) => fromMinor(minor, currency.scale);
    return {
      currency: toCurrencyModel(currency),
      from: args.from,
      to: args.to,
      totals: { transactions: page.transactions, activeAccounts: page.activeAccounts, volume: amount(page.volumeMinor) },
      lines: toConnection(
        page.lines,
        size,
        (line) => ({
          accountId: line.accountId,
          credited: amount(line.creditedMinor),
          debited: amount(line.debitedMinor),
          transactions: line.transactions,
        }),
        (line) => [line.accountId, window.lo.toString(), window.hi.toString()],
      ),
    };
  }

  /**
   * The activity report as CSV (`GET /exports/activity`): refusals happen here, before the first
   * byte; the lines then stream a page at a time, all from the same sequence window.
   */
  async activityCsv(caller: Caller, args: ActivityArgs): Promise<{ fileName: string; chunks: AsyncGenerator<string> }> {
    if (compareInstants(args.from, args.to) >= 0) throw validationFailed('to', 'must be later than from');
    const network = caller.networkId;
    const { currency, accounts } = await this.activityScope(caller, args);
    const window = await this.newWindow(network, args.from, args.to);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    return {
      fileName: `activity-${currency.code}-${day(args.from)}-to-${day(args.to)}.csv`,
      chunks: this.activityCsvChunks(network, currency, accounts, window),
    };
  }

  private async *activityCsvChunks(
    network: string,
    currency: CurrencyRecord,
    accounts: AccountSet,
    window: { lo: bigint; hi: bigint },
  ): AsyncGenerator<string> {
    yield csvRow([text('account_id'), text('party'), text('credited'), text('debited'), text('transactions')]);
    let after: string | null = null;
    for (;;) {
      const page = await this.reports.activityPage(network, currency.code, accounts, window, after, ACTIVITY_CSV_PAGE);
      const holders = await this.reports.accountHolders(
        network,
        page.lines.map((l) => l.accountId),
      );
      yield page.lines
        .map((line) =>
          csvRow([
            text(line.accountId),
            text(holders.get(line.accountId)?.partyName ?? null),
            number(fromMinor(line.creditedMinor, currency.scale)),
            number(fromMinor(line.debitedMinor, currency.scale)),
            number(String(line.transactions)),
          ]),
        )
        .join('');
      const last = page.lines.at(-1);
      if (!last || page.lines.length < ACTIVITY_CSV_PAGE) return;
      after = last.accountId;
    }
  }

  private async activityScope(caller: Caller, args: ActivityArgs): Promise<{ currency: CurrencyRecord; accounts: AccountSet }> {
    const currency = await this.currencyService.get(caller.networkId, args.currency);
    return { currency, accounts: await this.scope.accountsOf(caller, currency) };
  }

  private async newWindow(network: string, from: Date | null, to: Date | null): Promise<Window> {
    const [lo, hi] = await Promise.all([
      from ? this.reports.sequenceBefore(network, from) : Promise.resolve(0n),
      to ? this.reports.sequenceBefore(network, to) : this.reports.head(network).then((h) => h.sequence),
    ]);
    // A period wholly in the future is empty: nothing after the opening balance.
    const top = hi < lo ? lo : hi;
    return { lo, hi: top, after: lo };
  }

  private windowFromCursor(after: string | null | undefined): Window | null {
    const cursor = decodeCursor(after, ['string', 'string', 'string']);
    if (!cursor) return null;
    const [last, lo, hi] = cursor.map((part) => parseSequence(part as string));
    if (last === undefined || lo === undefined || hi === undefined || lo > last || last > hi) {
      throw validationFailed('after', 'not a cursor returned by this list');
    }
    return { lo, hi, after: last };
  }
}

function activityWindow(cursor: readonly string[]): { lo: bigint; hi: bigint } {
  const [lo, hi] = cursor.slice(1).map(parseSequence);
  if (lo === undefined || hi === undefined || lo > hi) throw validationFailed('after', 'not a cursor returned by this list');
  return { lo, hi };
}

function parseSequence(text: string): bigint {
  if (!/^\d{1,19}$/.test(text)) throw validationFailed('after', 'not a cursor returned by this list');
  return BigInt(text);
}
