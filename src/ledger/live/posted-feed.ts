import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { DomainError, ErrorCode } from '../../common/domain-error';
import { sleep } from '../../common/retry';
import { NotificationHub } from '../../database/notification-hub';
import { KEYS_CHANNEL } from '../../identity/api-key.service';
import { Metrics } from '../../observability/metrics';
import { POSTED_CHANNEL } from '../posting/posting.repository';
import { TransactionReader } from '../transactions/transaction.reader';
import { LiveRepository } from './live.repository';
import { Subscriber } from './subscriber';

/** Subscriptions one instance serves at most. */
export const MAX_SUBSCRIPTIONS = 10_000;
/** Transactions read per catch-up query after the listener reconnects. */
const CATCH_UP_PAGE = 1000;
const RECONNECT_POLL_MS = 100;

interface Announced {
  readonly id: string;
  /** The accounts it touches, or null when the announcement named only the id. */
  readonly accountIds: readonly string[] | null;
}

/** Parses a `ledger_posted` payload: `network|id:account,account;id:*` (see notifyPayloads). */
export function parseAnnouncement(payload: string): { network: string; announced: Announced[] } {
  const bar = payload.indexOf('|');
  const network = payload.slice(0, Math.max(bar, 0));
  const announced = payload
    .slice(bar + 1)
    .split(';')
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const [id = '', accounts = ''] = entry.split(':');
      return { id, accountIds: accounts === '*' ? null : accounts.split(',') };
    });
  return { network, announced };
}

/**
 * The live feed behind `transactionPosted`. Every posting group NOTIFYs the transactions it
 * posted, whichever instance posted them; the NotificationHub's LISTEN connection hands the
 * announcements here, and the feed reads the transactions that touch a watched account and
 * gives each subscriber those newer than the last it received.
 *
 * Notifications sent while the listener is disconnected are lost, so after every gap the feed
 * waits for the listener to be back and then reads, from the ledger itself, what the watched
 * accounts missed (postings_account_sequence). Announcements and catch-ups are handled one at a
 * time, in arrival order, which keeps each subscriber's events in ledger order.
 *
 * A subscription ends with UNAUTHENTICATED as soon as its key is revoked (KEYS_CHANNEL, and a
 * check after every gap, when a revocation notice may have been missed).
 */
@Injectable()
export class PostedFeed implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(PostedFeed.name);
  private readonly byAccount = new Map<string, Set<Subscriber>>();
  private readonly all = new Set<Subscriber>();
  private work: Promise<void> = Promise.resolve();
  private readonly unlisten: (() => void)[] = [];
  private stopped = false;
  private readonly stats = { events: 0, catchUps: 0 };

  constructor(
    private readonly hub: NotificationHub,
    private readonly live: LiveRepository,
    private readonly reader: TransactionReader,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.registerMetrics();
    this.unlisten.push(
      this.hub.subscribe(POSTED_CHANNEL, (payload) => this.announced(payload)),
      this.hub.subscribe(KEYS_CHANNEL, (apiKeyId) => this.endForKey(apiKeyId)),
      this.hub.onGap(() => this.serially(() => this.catchUp())),
    );
  }

  /** Ends every subscription (clients get `complete`) and stops listening. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unlisten.forEach((stop) => stop());
    await Promise.all([...this.all].map((subscriber) => subscriber.return()));
  }

  get subscriptions(): number {
    return this.all.size;
  }

  /** Watches one account for a caller already allowed to read it. */
  async subscribe(apiKeyId: string, networkId: string, accountId: string): Promise<Subscriber> {
    if (this.stopped) throw new DomainError(ErrorCode.RATE_LIMITED, 'This instance is shutting down; subscribe again');
    if (this.all.size >= MAX_SUBSCRIPTIONS) {
      throw new DomainError(ErrorCode.RATE_LIMITED, `This instance serves ${MAX_SUBSCRIPTIONS} subscriptions already; retry shortly`);
    }
    const subscriber = new Subscriber(accountId, apiKeyId, networkId, null, (s) => this.remove(s));
    this.all.add(subscriber);
    let watchers = this.byAccount.get(accountId);
    if (!watchers) {
      watchers = new Set();
      this.byAccount.set(accountId, watchers);
    }
    watchers.add(subscriber);
    try {
      // Registered first, then the head read: whatever commits after the read is announced to it.
      const head = await this.live.headSequence(networkId);
      if (subscriber.afterSequence === null || subscriber.afterSequence < head) subscriber.afterSequence = head;
    } catch (error) {
      await subscriber.return();
      throw error;
    }
    return subscriber;
  }

  private registerMetrics(): void {
    const registers = [this.metrics.registry];
    const open = () => this.all.size;
    new Gauge({
      name: 'ledger_live_subscriptions',
      help: 'transactionPosted subscriptions open on this instance',
      registers,
      collect() {
        this.set(open());
      },
    });
    const counterOf = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counterOf('ledger_live_events_total', 'Transactions handed to subscribers', () => this.stats.events);
    counterOf(
      'ledger_live_catch_ups_total',
      'Reads of missed transactions after the listener lost its connection',
      () => this.stats.catchUps,
    );
  }

  private remove(subscriber: Subscriber): void {
    this.all.delete(subscriber);
    const watchers = this.byAccount.get(subscriber.accountId);
    watchers?.delete(subscriber);
    if (watchers?.size === 0) this.byAccount.delete(subscriber.accountId);
  }

  /**
   * Every posting group of every instance announces itself here. With no subscriber on this
   * instance the payload is not even parsed: a subscription that starts later reads the head
   * first, which is already past anything announced before it.
   */
  private announced(payload: string): void {
    if (this.all.size === 0) return;
    const { network, announced } = parseAnnouncement(payload);
    this.serially(() => this.deliver(network, announced));
  }

  private serially(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => {
      // The announcement may be lost for some subscribers: read it back from the ledger.
      this.logger.warn(`live feed: ${(error as Error).message}; catching up from the ledger`);
      this.serially(() => this.catchUp());
    });
  }

  /** Hands a network's announced transactions to the subscribers of that network watching their accounts. */
  private async deliver(network: string, announced: readonly Announced[]): Promise<void> {
    if (this.all.size === 0) return;
    const wanted = announced.filter((a) => a.accountIds === null || a.accountIds.some((id) => this.byAccount.has(id))).map((a) => a.id);
    if (wanted.length === 0) return;
    for (const transaction of await this.reader.byIds(network, wanted)) {
      for (const posting of transaction.postings) {
        for (const subscriber of this.byAccount.get(posting.accountId) ?? []) {
          if (subscriber.networkId !== network) continue;
          if (subscriber.push(transaction)) this.stats.events++;
        }
      }
    }
  }

  /** After a gap: waits for the listener, ends revoked keys' subscriptions, reads what was missed. */
  private async catchUp(): Promise<void> {
    while (!this.hub.connected) {
      if (this.stopped) return;
      await sleep(RECONNECT_POLL_MS);
    }
    this.stats.catchUps++;
    for (const apiKeyId of await this.live.revokedAmong([...new Set([...this.all].map((s) => s.apiKeyId))])) this.endForKey(apiKeyId);
    const byNetwork = new Map<string, Subscriber[]>();
    for (const subscriber of this.all) byNetwork.set(subscriber.networkId, [...(byNetwork.get(subscriber.networkId) ?? []), subscriber]);
    for (const [network, subscribers] of byNetwork) await this.catchUpNetwork(network, subscribers);
  }

  /** Each network has its own sequence: what its subscribers missed is read network by network. */
  private async catchUpNetwork(network: string, subscribers: readonly Subscriber[]): Promise<void> {
    const starts = subscribers.map((s) => s.afterSequence).filter((s): s is bigint => s !== null);
    if (starts.length === 0) return;
    const accountIds = [...new Set(subscribers.map((s) => s.accountId))];
    let after = starts.reduce((a, b) => (a < b ? a : b));
    for (;;) {
      const missed = await this.live.transactionsSince(network, accountIds, after, CATCH_UP_PAGE);
      if (missed.length === 0) return;
      await this.deliver(
        network,
        missed.map((m) => ({ id: m.id, accountIds: null })),
      );
      after = missed[missed.length - 1]?.sequence ?? after;
      if (missed.length < CATCH_UP_PAGE) return;
    }
  }

  private endForKey(apiKeyId: string): void {
    for (const subscriber of this.all) {
      if (subscriber.apiKeyId === apiKeyId) subscriber.fail(new DomainError(ErrorCode.UNAUTHENTICATED, 'This API key has been revoked'));
    }
  }
}
