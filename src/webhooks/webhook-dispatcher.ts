import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { NextTurn } from '../common/event-loop';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { type FanOutLease, type FanOutRound, WebhookFanOut } from './webhook-fan-out';
import { WebhookRetention } from './webhook-retention';
import { SendThread, type SendResult } from './send-thread';
import { type SecretBox, WEBHOOK_SECRET_BOX } from './webhook-secrets';
import { type AttemptResult, type ClaimedRow, type RoundDelivery, WebhookRepository } from './webhook.repository';
import { WebhookStats } from './webhook-stats';

/** Longest delay between two attempts: later retries come hourly until the window closes. */
const MAX_RETRY_DELAY_MS = 3_600_000;
/** A claimed delivery is taken again by any instance this long after its answer was due. */
const LEASE_MARGIN_MS = 5_000;
/** Results are written together, at most this many per statement. */
const MAX_RESULTS_PER_WRITE = 500;
/**
 * Deliveries one instance holds claimed ahead of their sends, of one webhook and of all. A
 * webhook's bound is above a fan-out round's events (500 per network), so that a round can claim
 * every delivery of a receiver that keeps up: one it cannot claim is written due, then claimed
 * and recorded, three writes where a claimed one costs one.
 */
const MAX_QUEUED_PER_WEBHOOK = 1024;
const MAX_QUEUED = 2048;
/** Webhooks whose answer time this instance remembers (idle ones are forgotten beyond this). */
const MAX_LANES = 1000;
/**
 * After a fan-out that found some work but not a full batch, the next waits until this long (at
 * most the poll interval) after it started, so that the events of a burst of posting groups are
 * fanned out, claimed and recorded in a few statements rather than a few statements each, and sent
 * in a few writes.
 */
const GATHER_MS = 100;
/**
 * A fan-out round holds its networks' cursors leased at most this long waiting for the answers
 * to the deliveries it claimed, then writes them (those still under way as attempts leased to
 * this instance, recorded when answered, as a retry is).
 */
const ROUND_HOLD_MS = 250;
/** The answer time assumed for a webhook this instance has not sent to yet. */
const FIRST_ANSWER_MS = 50;
/**
 * A webhook answering faster than this (moving average) gets its sends pipelined on one
 * connection, a slower one a connection per send in flight (webhook-sender.ts): a receiver that
 * takes its time may answer pipelined requests one after the other.
 */
const PIPELINE_BELOW_MS = 20;
/**
 * Sends started in one stretch of the event loop: each is a few microseconds here (its body is built,
 * signed and sent on the sending thread, send-thread.ts), but the posting groups share the loop, and
 * a group's answer from the database that arrives during a stretch waits for its end, with the
 * ledger head behind it. A fan-out round claims hundreds of deliveries.
 */
const SENDS_PER_SLICE = 32;
/**
 * Sends handed to the sending thread in one message at most: the slices of one pump go over
 * together up to this many (each message wakes the thread, and its sends leave in one write).
 */
const SENDS_PER_MESSAGE = 256;

/** Retry n (1 for the first retry): doubling from the minimum, capped, with up to 25 % jitter on top. */
export function retryDelayMs(attempt: number, minMs: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, minMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (1 + random() * 0.25));
}

/** A leased fan-out round whose claimed deliveries are being sent and are not written yet. */
interface OpenRound {
  readonly lease: FanOutLease;
  readonly results: Map<string, AttemptResult>;
  readonly openedMs: number;
}

interface Queued {
  readonly delivery: ClaimedRow;
  /** Local time by which its send must start, or it is released (its lease leaves room for one answer after it). */
  readonly sendByMs: number;
}

/** A send handed to the sending thread, by its key. */
interface Sending {
  readonly lane: Lane;
  readonly delivery: ClaimedRow;
  readonly pipelined: boolean;
  readonly retryDelayMs: number;
}

/** What this instance holds of one webhook: deliveries waiting, sends in flight, how fast it answers. */
interface Lane {
  readonly queue: Queued[];
  inFlight: number;
  /** Of `inFlight`, the sends outstanding on the webhook's one pipelined connection. */
  pipelined: number;
  answerMs: number;
}

/**
 * Sends webhook deliveries; every instance runs one. Each turn of its loop writes the answers
 * received since the last turn (one statement), writes the fan-out rounds whose answers are in
 * (one transaction each: their claimed deliveries inserted once, with their answers), fans new
 * outbox events out into deliveries and claims them for itself (one transaction), and claims due
 * retries (one statement), each for as many deliveries as are waiting: the database work is per
 * batch, not per event. Claimed
 * deliveries wait in a queue per webhook and go out through at most
 * `webhookConcurrencyPerWebhook` connections per webhook (or one pipelined connection carrying up
 * to `webhookPipelineDepth` sends, for a receiver that answers fast) and `webhookConcurrency` in
 * all, so a slow or dead receiver holds a few connections and never the rest; how many a webhook may have queued
 * follows how fast it answers, and one not started within the timeout is released to be claimed
 * again. The posting path never waits for any of this: it only wrote the events. A crash loses
 * nothing: claimed deliveries come due again when their lease ends, and the events of a round
 * not yet written are fanned out again when the round's lease ends (at least once).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly sender: SendThread;
  private readonly lanes = new Map<string, Lane>();
  /** Opened signing secrets (their bytes as latin1 text, send-thread.ts), by webhook id with the sealed bytes they came from. */
  private readonly secrets = new Map<string, { sealed: Buffer; secret: string }>();
  private queued = 0;
  private inFlight = 0;
  /** Connections busy: one per send on a connection of its own, one per webhook with pipelined sends outstanding. */
  private connections = 0;
  private results: AttemptResult[] = [];
  private rounds: OpenRound[] = [];
  /** The open round of each delivery claimed by a fan-out round and not written yet, by delivery id. */
  private readonly unwritten = new Map<string, OpenRound>();
  private lastDueClaimMs = 0;
  private dueBacklog = true;
  /**
   * Webhooks with deliveries left due for want of room here (refused by a fan-out round, or a
   * claim that took as many as their room allowed): claimed again as soon as half their room is
   * free, not at the next poll, so that a webhook's deliveries keep pace with a posting rate above
   * what one round a poll interval would carry.
   */
  private readonly backlogged = new Set<string>();
  private stopped = false;
  /** `pump` at the event loop's next turn. */
  private readonly pumpSoon = new NextTurn(() => this.pump());
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Sends in flight, by key. */
  private readonly sending = new Map<number, Sending>();
  private nextKey = 0;
  /** Resolved once no send is in flight (shutting down). */
  private drained: (() => void) | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: SecretBox | null,
    private readonly webhooks: WebhookRepository,
    private readonly fanOut: WebhookFanOut,
    private readonly stats: WebhookStats,
    private readonly retention: WebhookRetention,
  ) {
    // Connections per webhook: as many as its sends in flight, or one with its sends pipelined while the receiver keeps up.
    this.sender = new SendThread(
      {
        timeoutMs: config.webhookTimeoutMs,
        allowPrivate: config.webhookAllowPrivate,
        perWebhook: config.webhookConcurrencyPerWebhook,
        pipelineDepth: config.webhookPipelineDepth,
        nice: config.webhookSenderNice,
      },
      (result) => this.sent(result),
    );
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  /** Lets the sends in flight finish (each is bounded by the timeout), releases what waits, and records it all. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    for (const lane of this.lanes.values()) this.releaseAll(lane);
    if (this.sending.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.endRounds(true);
    await this.flush().catch(() => undefined);
    await this.sender.close();
  }

  /**
   * A queued delivery must start within the timeout; its lease covers that wait, then connecting
   * and the answer (each bounded by the timeout, webhook-sender.ts), and a margin.
   */
  private get leaseMs(): number {
    return 3 * this.config.webhookTimeoutMs + LEASE_MARGIN_MS;
  }

  private async run(): Promise<void> {
    /** After a fan-out that found some work but not a full batch, the next waits until then (0: at once). */
    let gatherUntilMs = 0;
    while (!this.stopped) {
      let pauseMs = this.config.webhookPollMs;
      try {
        const startedMs = Date.now();
        const fanOut = startedMs >= gatherUntilMs;
        const found = await this.turn(fanOut);
        if (fanOut) gatherUntilMs = found === 'some' ? startedMs + Math.min(GATHER_MS, this.config.webhookPollMs) : 0;
        // A round with every answer in is written at once, which frees its networks for the next round; the next fan-out
        // still waits out the gathering time (a round that woke the loop every few milliseconds fanned out a handful of
        // events each time, in as many statements and writes to the receiver as a round of hundreds).
        if (found === 'full' || this.rounds.some((r) => r.results.size === r.lease.deliveries.size)) pauseMs = 0;
        else if (gatherUntilMs > 0) pauseMs = Math.max(0, gatherUntilMs - Date.now());
      } catch (error) {
        this.logger.warn(`webhook dispatch: ${(error as Error).message}`);
      }
      if (!this.stopped) await this.pause(pauseMs);
    }
  }

  /** One turn (fanning out new events or not): whether it found a full batch (more may wait), some work, or none. */
  private async turn(fanOut: boolean): Promise<'full' | 'some' | 'none'> {
    await this.endRounds(false);
    await this.flush();
    if (!this.box) return 'none';
    const fanned = fanOut ? await this.fanOut.round(this.reserver(), this.leaseMs) : NOTHING_FANNED;
    if (fanned.lease) this.open(fanned.lease);
    this.enqueue(fanned.claimed);
    let claimedDue = 0;
    let dueFull = false;
    // Retries and released deliveries come due on their own clock: looked for every poll interval, or at once while a backlog
    // lasts (a full claim, or a webhook with deliveries waiting for room here that has room again).
    if (this.dueBacklog || this.backlogHasRoom() || Date.now() - this.lastDueClaimMs >= this.config.webhookPollMs) {
      const limit = Math.min(MAX_RESULTS_PER_WRITE, MAX_QUEUED - this.queued - this.inFlight);
      if (limit <= 0) {
        // No room at all: any webhook may have deliveries due, to be claimed once there is room.
        for (const id of this.lanes.keys()) this.backlogged.add(id);
      } else {
        const caps = this.caps();
        const defaultCap = this.budget(undefined);
        const claimed = await this.webhooks.claim(limit, defaultCap, caps, this.leaseMs);
        this.lastDueClaimMs = Date.now();
        this.enqueue(claimed);
        this.noteBacklog(claimed, caps, defaultCap);
        claimedDue = claimed.length;
        dueFull = claimed.length === limit;
      }
      this.dueBacklog = dueFull;
    }
    this.pump();
    const sweeping = await this.retention.step();
    if (fanned.full || dueFull || sweeping || this.backlogHasRoom()) return 'full';
    return fanned.events > 0 || claimedDue > 0 ? 'some' : 'none';
  }

  /** How many of one webhook's deliveries this instance may hold: as many as it can start within the timeout, at its answer time. */
  private budget(lane: Lane | undefined): number {
    const perWebhook = this.config.webhookConcurrencyPerWebhook;
    const answerMs = Math.max(1, lane?.answerMs ?? FIRST_ANSWER_MS);
    const rounds = Math.floor(this.config.webhookTimeoutMs / (2 * answerMs));
    return Math.min(MAX_QUEUED_PER_WEBHOOK, perWebhook * Math.max(1, rounds));
  }

  private room(webhookId: string): number {
    const lane = this.lanes.get(webhookId);
    return this.budget(lane) - (lane ? lane.queue.length + lane.inFlight : 0);
  }

  /** Each known webhook's room, for the due claim (a webhook this instance has not seen gets the first budget). */
  private caps(): Map<string, number> {
    return new Map([...this.lanes.keys()].map((id) => [id, Math.max(0, this.room(id))]));
  }

  /**
   * After a due claim: a webhook that got as many as its cap may have more due (backlogged), one
   * that got fewer has none left. One whose cap was 0 was not asked: it may have some due (a
   * fan-out round filled its room just before), so it is backlogged until a claim finds out.
   */
  private noteBacklog(claimed: readonly ClaimedRow[], caps: ReadonlyMap<string, number>, defaultCap: number): void {
    const counts = new Map<string, number>();
    for (const d of claimed) counts.set(d.webhook_id, (counts.get(d.webhook_id) ?? 0) + 1);
    for (const [id, cap] of caps) if (cap <= 0) this.backlogged.add(id);
    for (const id of new Set([...this.backlogged, ...counts.keys()])) {
      const cap = caps.get(id) ?? defaultCap;
      if (cap <= 0) continue;
      if ((counts.get(id) ?? 0) >= cap) this.backlogged.add(id);
      else this.backlogged.delete(id);
    }
  }

  /** Whether a webhook with deliveries due and waiting for room here has at least half its room free. */
  private backlogHasRoom(): boolean {
    for (const id of this.backlogged) if (this.hasHalfRoom(id)) return true;
    return false;
  }

  /** Half the webhook's room free, and a quarter of the instance's (claims come in batches, never one by one as sends end). */
  private hasHalfRoom(webhookId: string): boolean {
    if ((MAX_QUEUED - this.queued - this.inFlight) * 4 < MAX_QUEUED) return false;
    return this.room(webhookId) * 2 >= this.budget(this.lanes.get(webhookId));
  }

  /** Says, delivery by delivery of one fan-out, whether this instance claims it (one it refuses is left due: its webhook is backlogged). */
  private reserver(): (webhookId: string) => boolean {
    let total = MAX_QUEUED - this.queued - this.inFlight;
    const taken = new Map<string, number>();
    return (webhookId) => {
      const n = taken.get(webhookId) ?? 0;
      if (total <= 0 || n >= this.room(webhookId)) {
        this.backlogged.add(webhookId);
        return false;
      }
      taken.set(webhookId, n + 1);
      total--;
      return true;
    };
  }

  private lane(webhookId: string): Lane {
    let lane = this.lanes.get(webhookId);
    if (!lane) {
      lane = { queue: [], inFlight: 0, pipelined: 0, answerMs: FIRST_ANSWER_MS };
      this.lanes.set(webhookId, lane);
    }
    return lane;
  }

  private enqueue(deliveries: readonly ClaimedRow[]): void {
    const sendByMs = Date.now() + this.config.webhookTimeoutMs;
    for (const delivery of deliveries) this.lane(delivery.webhook_id).queue.push({ delivery, sendByMs });
    this.queued += deliveries.length;
  }

  /**
   * Starts sends while there are free connections: per webhook in claim order, webhooks in turn,
   * at most SENDS_PER_SLICE now and the rest at the event loop's next turn (`pumpSoon`). A webhook
   * that started one goes to the back of the turn order, so the slices share out fairly.
   */
  private pump(): void {
    if (this.stopped) {
      this.sender.flush();
      return;
    }
    const now = Date.now();
    for (const [webhookId, lane] of this.lanes) {
      this.releaseExpired(lane, now);
      if (lane.queue.length === 0 && lane.inFlight === 0 && this.lanes.size > MAX_LANES) {
        this.lanes.delete(webhookId);
        this.backlogged.delete(webhookId);
      }
    }
    let budget = SENDS_PER_SLICE;
    for (let started = true; started;) {
      started = false;
      for (const [webhookId, lane] of [...this.lanes]) {
        if (lane.queue.length === 0 || !this.mayStart(lane)) continue;
        if (budget-- === 0) {
          // The sends of the slices go to the sending thread together, up to SENDS_PER_MESSAGE.
          if (this.sender.waitingCount >= SENDS_PER_MESSAGE) this.sender.flush();
          else this.sender.gather();
          this.pumpSoon.ask();
          return;
        }
        started = true;
        const next = lane.queue.shift() as Queued;
        this.queued--;
        this.start(lane, next.delivery);
        this.lanes.delete(webhookId);
        this.lanes.set(webhookId, lane);
      }
    }
    this.sender.flush();
  }

  /** Deliveries that waited here past their time go back (not attempted), so the lease never ends under a send. */
  private releaseExpired(lane: Lane, now: number): void {
    let expired = 0;
    while (expired < lane.queue.length && (lane.queue[expired] as Queued).sendByMs < now) expired++;
    if (expired === 0) return;
    for (const { delivery } of lane.queue.splice(0, expired)) this.report(released(delivery));
    this.queued -= expired;
  }

  private releaseAll(lane: Lane): void {
    for (const { delivery } of lane.queue.splice(0)) this.report(released(delivery));
    this.queued = 0;
  }

  /**
   * A webhook that answers fast has its sends pipelined on one connection, up to
   * `webhookPipelineDepth` outstanding, which takes one of the instance's `webhookConcurrency`
   * connections however many it carries: the deeper the pipeline, the more requests leave in one
   * write and are answered in one read. A slower one has at most `webhookConcurrencyPerWebhook`
   * sends in flight, each on a connection of its own. A fast receiver that turns slow goes back to
   * that bound as its answer time rises (one slow answer in five moves the average past the mark).
   */
  private mayStart(lane: Lane): boolean {
    const { webhookConcurrency, webhookConcurrencyPerWebhook, webhookPipelineDepth } = this.config;
    if (pipelines(lane)) return lane.inFlight < webhookPipelineDepth && (lane.pipelined > 0 || this.connections < webhookConcurrency);
    return lane.inFlight < webhookConcurrencyPerWebhook && this.connections < webhookConcurrency;
  }

  private start(lane: Lane, delivery: ClaimedRow): void {
    const pipelined = pipelines(lane);
    this.inFlight++;
    lane.inFlight++;
    if (!pipelined || lane.pipelined++ === 0) this.connections++;
    const key = this.nextKey++;
    const sending: Sending = { lane, delivery, pipelined, retryDelayMs: retryDelayMs(delivery.attempts, this.config.webhookRetryMinMs) };
    this.sending.set(key, sending);
    if (delivery.stopped !== null) {
      setImmediate(() => this.ended(key, attemptResult(delivery, null, delivery.stopped, 0, true)));
      return;
    }
    let secret: string;
    try {
      secret = this.secretOf(delivery);
    } catch {
      const error = 'the signing secret cannot be opened (was WEBHOOK_SECRET_KEY or the admin key changed?)';
      setImmediate(() => this.ended(key, attemptResult(delivery, null, error, sending.retryDelayMs)));
      return;
    }
    // Built, signed and sent on the sending thread (send-thread.ts); its outcome comes back to `sent`.
    this.sender.send({
      key,
      webhookId: delivery.webhook_id,
      url: delivery.url,
      pipelined,
      secret,
      eventId: delivery.event_id,
      eventType: delivery.event_type,
      networkId: delivery.network_id,
      occurredAtMs: delivery.occurred_at.getTime(),
      data: delivery.data,
      attempts: delivery.attempts,
    });
  }

  /** A send's outcome from the sending thread. */
  private sent([key, statusCode, error, answerMs]: SendResult): void {
    const sending = this.sending.get(key);
    if (!sending) return;
    const { lane, delivery } = sending;
    const delivered = error === null;
    // How fast the webhook answers (a moving average) sets how many of its deliveries are claimed ahead.
    lane.answerMs = 0.8 * lane.answerMs + 0.2 * answerMs;
    this.stats.attempted(delivered, answerMs / 1000, delivered ? delivery.occurred_at : null);
    this.ended(key, attemptResult(delivery, statusCode, error, sending.retryDelayMs));
  }

  /** A send ended (answered, failed, or not made): its result reported, its room given back. */
  private ended(key: number, result: AttemptResult): void {
    const sending = this.sending.get(key);
    if (!sending) return;
    this.sending.delete(key);
    const { lane, delivery, pipelined } = sending;
    this.report(result);
    this.inFlight--;
    lane.inFlight--;
    if (!pipelined || --lane.pipelined === 0) this.connections--;
    if (this.sending.size === 0) this.drained?.();
    // Not at once: the answers one message brings end their sends together, and the sends after them start in slices.
    this.pumpSoon.ask();
    // A webhook with deliveries due for want of room is claimed again once it has room for a good batch of them.
    if (this.results.length >= MAX_RESULTS_PER_WRITE || (this.backlogged.has(delivery.webhook_id) && this.hasHalfRoom(delivery.webhook_id)))
      this.wake?.();
  }

  /** An answer (or a release) goes to the open round that holds its delivery unwritten, or is recorded on its row. */
  private report(result: AttemptResult): void {
    const round = this.unwritten.get(result.id);
    if (!round) {
      this.results.push(result);
      return;
    }
    round.results.set(result.id, result);
    // Every answer in: the round is written at once, and its networks' cursors freed for the next.
    if (round.results.size === round.lease.deliveries.size) this.wake?.();
  }

  private open(lease: FanOutLease): void {
    const round: OpenRound = { lease, results: new Map(), openedMs: Date.now() };
    this.rounds.push(round);
    for (const id of lease.deliveries.keys()) this.unwritten.set(id, round);
  }

  /**
   * Writes the open rounds whose answers are all in, or that have waited ROUND_HOLD_MS (all of
   * them when stopping): each claimed delivery once, with its answer, or as an attempt under way
   * whose answer is then recorded on its row. A round whose write fails stays open and is written
   * again at the next turn (until then its lease keeps other rounds off its events).
   */
  private async endRounds(all: boolean): Promise<void> {
    const now = Date.now();
    for (const round of [...this.rounds]) {
      if (!all && round.results.size < round.lease.deliveries.size && now - round.openedMs < ROUND_HOLD_MS) continue;
      const rows: RoundDelivery[] = [];
      for (const delivery of round.lease.deliveries.values()) {
        const result = round.results.get(delivery.id) ?? null;
        // From here on an answer still to come is recorded on the row this write makes.
        this.unwritten.delete(delivery.id);
        const state = result === null ? 'sending' : result.released ? 'released' : result.delivered ? 'delivered' : 'failed';
        rows.push({ ...delivery, state, result });
      }
      try {
        const ended = await this.webhooks.endRound(
          round.lease.id,
          round.lease.through,
          rows,
          this.config.webhookRetryWindowMs,
          this.leaseMs,
        );
        this.stats.recorded(ended);
        this.rounds = this.rounds.filter((r) => r !== round);
      } catch (error) {
        this.logger.warn(`writing a webhook fan-out round of ${rows.length} deliveries failed: ${(error as Error).message}`);
      }
    }
  }

  /** Opening a sealed secret is an AES-GCM decryption: done once per webhook (and again if its sealed bytes change). */
  private secretOf(d: ClaimedRow): string {
    const known = this.secrets.get(d.webhook_id);
    if (known && known.sealed.equals(d.secret_ciphertext)) return known.secret;
    // Kept as its UTF-8 bytes (one latin1 character each), the HMAC's key: not encoded again for every signature.
    const secret = Buffer.from((this.box as SecretBox).open(d.secret_ciphertext, d.webhook_id)).toString('latin1');
    if (this.secrets.size >= MAX_QUEUED) this.secrets.clear();
    this.secrets.set(d.webhook_id, { sealed: d.secret_ciphertext, secret });
    return secret;
  }

  private async flush(): Promise<void> {
    while (this.results.length > 0) {
      const batch = this.results.splice(0, MAX_RESULTS_PER_WRITE);
      try {
        this.stats.recorded(await this.webhooks.record(batch, this.config.webhookRetryWindowMs));
      } catch (error) {
        // Not recorded: the deliveries come due again when their lease ends and are sent again.
        this.logger.warn(`recording ${batch.length} webhook attempts failed: ${(error as Error).message}`);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    if (ms === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

/** Whether a webhook's sends go pipelined on its one connection: it answers fast (moving average). */
function pipelines(lane: Lane): boolean {
  return lane.answerMs < PIPELINE_BELOW_MS;
}

const NOTHING_FANNED: FanOutRound = { events: 0, full: false, claimed: [], lease: null };

/** What became of an attempt: delivered when there is no error; `final`: no retry (the webhook was deleted or its key revoked). */
function attemptResult(d: ClaimedRow, statusCode: number | null, error: string | null, retryDelayMs: number, final = false): AttemptResult {
  return { networkId: d.network_id, id: d.id, attempts: d.attempts, delivered: error === null, final, statusCode, error, retryDelayMs };
}

/** A claim undone: not attempted, due again at once. */
function released(d: ClaimedRow): AttemptResult {
  return {
    networkId: d.network_id,
    id: d.id,
    attempts: d.attempts,
    delivered: false,
    final: false,
    statusCode: null,
    error: null,
    retryDelayMs: 0,
    released: true,
  };
}
