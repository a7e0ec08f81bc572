import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { DomainError, ErrorCode, validationFailed } from '../../common/domain-error';
import { NextTurn, nextTurn } from '../../common/event-loop';
import { sleep } from '../../common/retry';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { CommitUnacknowledged, Database, isRetryable, sqlState, type TransactionSql, violatedConstraint } from '../../database/database';
import { PostedPayloads } from '../events/posted-payloads';
import { EarlierInstances } from '../../database/earlier-instances';
import { performance } from 'node:perf_hooks';
import { mayRunAhead, type Outcome, PostingGroup } from './posting-group';
import type { GroupTip } from './posting.repository';
import { PostingTrace } from './posting-trace';
import type { Actor, Command, ExpiryListener, Op, OpResult } from './posting.types';

interface Waiting {
  readonly command: Command;
  /** Its idempotency keys (API key and key), made once: a command may be looked at by several `takeGroup`s. */
  readonly keys: readonly string[];
  readonly resolve: (results: OpResult[]) => void;
  readonly reject: (error: unknown) => void;
  /** When it was submitted (performance.now()), only while POSTING_TRACE is on. */
  readonly at: number;
}

/** Counters read by /metrics. */
export interface PostingStats {
  groups: number;
  commands: number;
  refused: number;
  transactions: number;
  isolatedReruns: number;
  /** Groups run again because a request of theirs was recorded by another group after their load looked (below). */
  idempotencyRaceReruns: number;
  /** Groups applied ahead, to the state the group before them was about to commit (`runAhead`), and those that found another. */
  appliedAhead: number;
  appliedAheadMissed: number;
  /** Groups whose COMMIT was not acknowledged, by what the database said of them afterwards. */
  unacknowledgedCommits: { committed: number; rolledBack: number; unknown: number };
}

/** A group whose COMMIT was lost and found rolled back is sent again at most this many times. */
const MAX_LOST_COMMIT_RERUNS = 3;
/** A group whose write met an idempotency record committed after its load looked is run again at most this many times. */
const MAX_IDEMPOTENCY_RACE_RERUNS = 3;

type CommitStatus = 'committed' | 'aborted' | 'unknown';

const MAX_OPS_PER_GROUP = 5000;
const MAX_QUEUE = 20_000;
/** Networks whose groups this instance posts at the same time at most (each group holds a pooled connection). */
const MAX_NETWORKS_IN_FLIGHT = 4;
/**
 * A command of this many operations (a batch of deposits) fills a group by itself: waiting for the
 * group ahead to commit would gather nothing more, so it starts as soon as the group ahead is
 * writing (a second lane, whatever `postingGroupsInFlight` says). When that group will commit with
 * its write, the batch is applied to the state it is about to commit and its write waits for the
 * head (`aheadOf`, migrations/0036); otherwise its load looks for its idempotency records while the
 * head is still held (migrations/0035) and waits for the head. Groups of single transfers keep one
 * lane: started after the group ahead, they carry everything that arrived meanwhile.
 */
const EARLY_START_OPS = 256;

/**
 * THE only writer of ledger rows. Callers submit commands; commands of one network that arrive
 * while a group is being written wait and are posted together in the next group (group commit).
 * A group is of one network: at most `postingGroupsInFlight` groups per network are in flight
 * per instance, groups of several networks at once; groups of all instances serialise on their
 * network's head row, and different networks never wait on each other.
 */
@Injectable()
export class PostingService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PostingService.name);
  private queue: Waiting[] = [];
  /** Groups being posted, and how many per network. */
  private readonly running = new Set<Promise<void>>();
  private readonly inFlight = new Map<string, number>();
  /** Groups in flight per network that have not yet started their write. */
  private readonly loading = new Map<string, number>();
  /** Per network, the state the last group to start its write is about to commit (while it is in flight). */
  private readonly tips = new Map<string, GroupTip>();
  /** Yields once before starting groups, so that requests arriving in the same tick join the first group. */
  private readonly groupsSoon = new NextTurn(() => this.pump());
  /** Posted groups whose callers are answered in the next turn (`settleSoon`). */
  private settling = 0;
  private closed = false;
  private readonly expiryListeners: ExpiryListener[] = [];
  private readonly trace = PostingTrace.fromEnv();
  readonly stats: PostingStats = {
    groups: 0,
    commands: 0,
    refused: 0,
    transactions: 0,
    isolatedReruns: 0,
    idempotencyRaceReruns: 0,
    appliedAhead: 0,
    appliedAheadMissed: 0,
    unacknowledgedCommits: { committed: 0, rolledBack: 0, unknown: 0 },
  };

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly earlier: EarlierInstances,
    private readonly payloads: PostedPayloads,
  ) {}

  /**
   * Whether a group writes its TRANSACTION_POSTED outbox rows naming their transactions: as set,
   * or by default while no instance of an earlier release runs (one before migration 0034 could
   * not read them).
   */
  private eventsByReference(): boolean {
    const setting = this.config.webhookEventsByReference;
    return setting === 'auto' ? !this.earlier.running : setting;
  }

  /** Posts one command; resolves with one result per operation, or rejects with its refusal. */
  submit(command: Command): Promise<OpResult[]> {
    if (this.closed) return Promise.reject(new Error('The ledger is shutting down; retry with the same idempotency key'));
    const keys = checkCommand(command);
    if (this.queue.length >= MAX_QUEUE) return Promise.reject(new Error('The posting queue is full; retry shortly'));
    return new Promise<OpResult[]>((resolve, reject) => {
      this.queue.push({ command, keys, resolve, reject, at: this.trace ? performance.now() : 0 });
      this.groupsSoon.ask();
    });
  }

  /**
   * Registers work to run in every posting group that releases expired holds, in its transaction
   * (a feature that keeps something beside a hold ends it with the hold). Registered at start-up.
   */
  onHoldsExpired(listener: ExpiryListener): void {
    this.expiryListeners.push(listener);
  }

  private readonly runExpiryListeners: ExpiryListener = async (tx, network, expired) => {
    for (const listener of this.expiryListeners) await listener(tx, network, expired);
  };

  /** Convenience for the common case of a command with one operation. */
  async submitOne(op: Op, actor: Actor, afterPost?: Command['afterPost']): Promise<OpResult> {
    const [result] = await this.submit({ ops: [op], apiKeyId: actor.apiKeyId, networkId: actor.networkId, afterPost });
    if (!result) throw new Error('the posting service returned no result');
    return result;
  }

  /**
   * Whether this caller has already used this idempotency key for something that was posted: in
   * its party's scope (any key of the party; the network for keys without one), or as a record
   * this very key wrote before idempotency was scoped.
   */
  async hasIdempotencyKey(actor: Actor, key: string): Promise<boolean> {
    // Two probes, one per index (scoped records; legacy ones, migrations/0022): joined by one OR,
    // PostgreSQL would read every record of the network.
    const rows = await this.db.query(
      `SELECT 1 FROM api_keys k
        WHERE k.network_id = $3 AND k.id = $1
          AND (EXISTS (SELECT 1 FROM idempotency_keys i
                        WHERE i.network_id = k.network_id AND i.key = $2
                          AND i.scope = CASE WHEN k.party_id IS NULL THEN 'network' ELSE 'party:' || k.party_id END)
               OR EXISTS (SELECT 1 FROM idempotency_keys i
                           WHERE i.network_id = k.network_id AND i.api_key_id = k.id AND i.key = $2 AND i.scope IS NULL))`,
      [actor.apiKeyId, key, actor.networkId],
    );
    return rows.length > 0;
  }

  /** Refuses new commands and waits until every queued one is posted or refused. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    while (this.running.size > 0 || this.groupsSoon.pending || this.settling > 0) {
      await Promise.all([...this.running, nextTurn()]);
    }
    if (this.trace) {
      this.trace.stop();
      process.stderr.write(this.trace.summary());
    }
  }

  /**
   * Starts a group for each network with queued commands and a free lane (`postingGroupsInFlight`
   * lanes per network, at least two for a group led by a batch: EARLY_START_OPS). A network's next group
   * starts once every group of the network in flight has applied its commands and is sending its
   * write: it then reaches the network's head just as the previous group releases it, which hides
   * the round trips of its start (a pooled connection, BEGIN, sending the load) behind the
   * previous group's write and COMMIT, while it gathers the commands that arrived meanwhile.
   * Starting it sooner would only make it wait on the head with fewer commands. The head lock
   * still puts a network's groups in one order, so idempotency and limits hold across lanes.
   */
  private pump(): void {
    const maxGroups = this.batchLanes * MAX_NETWORKS_IN_FLIGHT;
    while (this.running.size < maxGroups) {
      const group = this.takeGroup();
      const network = group[0]?.command.networkId;
      if (network === undefined) return;
      const ahead = this.aheadOf(network, group);
      this.inFlight.set(network, (this.inFlight.get(network) ?? 0) + 1);
      this.loading.set(network, (this.loading.get(network) ?? 0) + 1);
      let writing = false;
      let published: GroupTip | null = null;
      const nowWriting = (): boolean => {
        if (writing) return false;
        writing = true;
        decrement(this.loading, network);
        return true;
      };
      const onWriting = (tip: GroupTip | null) => {
        // The newest state of the network this instance knows of; a group that will not commit with its write has none.
        published = tip;
        if (tip) this.tips.set(network, tip);
        else this.tips.delete(network);
        if (nowWriting()) this.pump();
      };
      // Committed, failed, or to be run again: its tip is the database's state now, or never will be. No group is applied to it any more.
      const dropTip = () => {
        if (published !== null && this.tips.get(network) === published) this.tips.delete(network);
        published = null;
      };
      const run: Promise<void> = this.post(group, { onWriting, dropTip, ahead })
        .catch((error: unknown) => group.forEach((w) => w.reject(error)))
        .finally(() => {
          this.running.delete(run);
          dropTip();
          nowWriting();
          decrement(this.inFlight, network);
          this.pump();
        });
      this.running.add(run);
    }
  }

  /**
   * The tip a new group of the network is applied to, or null (the ordinary way: it waits for the
   * head). A group led by a batch, while a group of this instance is writing and will commit with
   * its write: the batch is applied to what that group is about to commit and written while it
   * commits (migrations/0036). Groups of single transfers never start while another is in flight.
   */
  private aheadOf(network: string, group: readonly Waiting[]): GroupTip | null {
    const tip = this.tips.get(network);
    if (!tip || (this.inFlight.get(network) ?? 0) === 0) return null;
    if ((group[0]?.command.ops.length ?? 0) < EARLY_START_OPS || !this.eventsByReference()) return null;
    const commands = group.map((w) => w.command);
    return mayRunAhead(commands, tip) ? tip : null;
  }

  /** Lanes per network for a group led by a batch (EARLY_START_OPS): at least two. */
  private get batchLanes(): number {
    return Math.max(2, this.config.postingGroupsInFlight);
  }

  /** Whether a new group of this network, led by a command of `ops` operations, may start now (see `pump`). */
  private laneFree(network: string, ops: number): boolean {
    const lanes = ops >= EARLY_START_OPS ? this.batchLanes : this.config.postingGroupsInFlight;
    if ((this.inFlight.get(network) ?? 0) >= lanes) return false;
    return !this.loading.has(network);
  }

  /**
   * Takes the next commands in arrival order, of the first network that has a free lane. A
   * command reusing an idempotency key already in the group waits for the next group, where it
   * finds the first one's result.
   */
  private takeGroup(): Waiting[] {
    const network = this.queue.find((w) => this.laneFree(w.command.networkId, w.command.ops.length))?.command.networkId;
    if (network === undefined) return [];
    const taken: Waiting[] = [];
    const rest: Waiting[] = [];
    const keys = new Set<string>();
    let ops = 0;
    for (const waiting of this.queue) {
      if (waiting.command.networkId !== network) {
        rest.push(waiting);
        continue;
      }
      const commandKeys = waiting.keys;
      const full =
        taken.length >= this.config.postingGroupMax || (taken.length > 0 && ops + waiting.command.ops.length > MAX_OPS_PER_GROUP);
      if (full || commandKeys.some((k) => keys.has(k))) {
        rest.push(waiting);
        continue;
      }
      commandKeys.forEach((k) => keys.add(k));
      ops += waiting.command.ops.length;
      taken.push(waiting);
    }
    this.queue = rest;
    return taken;
  }

  private async post(group: Waiting[], run: PostRun = {}): Promise<void> {
    const { lostCommits = 0, onWriting, dropTip, races = 0, ahead = null } = run;
    /** The same group run again, the ordinary way. */
    const again = (rerun: Pick<PostRun, 'lostCommits' | 'races'> = {}) =>
      this.post(group, { lostCommits, onWriting, dropTip, races, ...rerun });
    let outcomes: Outcome[] | null;
    let xid: string | null = null;
    const trace = this.trace ? traced(this.trace, group) : undefined;
    /** Transactions whose events the group wrote naming them: kept for the webhook fan-out once the group commits. */
    let named = null as Parameters<PostedPayloads['put']> | null;
    try {
      outcomes = await this.db.transaction(
        (tx) => {
          const commands = group.map((w) => w.command);
          const hooks = {
            onLoaded: (id: string) => {
              xid = id;
            },
            onWriting,
            onExpired: this.runExpiryListeners,
            onEventsNamed: (...facts: Parameters<PostedPayloads['put']>) => {
              named = facts;
            },
          };
          const options = { eventsByReference: this.eventsByReference() };
          const sql = trace ? trace.wrap(tx) : tx;
          return ahead ? PostingGroup.runAhead(sql, commands, ahead, hooks, options) : PostingGroup.run(sql, commands, hooks, options);
        },
        undefined,
        { beginWithFirstQuery: true },
      );
    } catch (error) {
      dropTip?.();
      if (error instanceof CommitUnacknowledged) {
        await this.afterLostCommit(group, error, xid, lostCommits);
        return;
      }
      if (ahead && foundAnotherState(error)) {
        // Applied to a state that did not come to be (the group ahead rolled back, another group
        // came between, or an account changed): nothing was written. Run the ordinary way.
        this.stats.appliedAheadMissed++;
        await again();
        return;
      }
      if (lostIdempotencyRace(error) && races < MAX_IDEMPOTENCY_RACE_RERUNS) {
        // The load looks for idempotency records before it waits for the network's head
        // (migrations/0035): a request recorded meanwhile by the group ahead was applied again, and
        // its record refused by the key's unique index. Nothing was written; run again, the load
        // finds the record and the request is replayed (or refused as a conflict).
        this.stats.idempotencyRaceReruns++;
        await again({ races: races + 1 });
        return;
      }
      if (group.length > 1 && !isRetryable(error)) {
        // Something unexpected failed the whole group: post each command alone so that one
        // command's fault reaches only its own caller.
        this.stats.isolatedReruns++;
        this.logger.warn(`posting group of ${group.length} failed (${(error as Error).message}); posting its commands one by one`);
        for (const waiting of group) await this.post([waiting]);
        return;
      }
      group.forEach((w) => w.reject(error));
      return;
    }
    if (outcomes === null) {
      // Applied ahead, it met a hold due to be released (only a group holding the head releases one): nothing was written.
      this.stats.appliedAheadMissed++;
      await again();
      return;
    }
    if (ahead) this.stats.appliedAhead++;
    if (named) this.payloads.put(...named);
    trace?.done();
    this.settleSoon(group, outcomes);
  }

  /**
   * Answers a posted group's callers in the next turn of the event loop, not in this one. The
   * group's lane is freed as this turn ends (`pump`'s `finally`), and the next group's start (a
   * pooled connection, BEGIN and its load, which pg-pool hands over with process.nextTick) then
   * runs before the callers' responses: resolving them here ran their whole responses (graphql-js,
   * Apollo, the HTTP write, for every transfer of the group) as microtasks first, while the
   * network's head waited, idle, for the next load.
   */
  private settleSoon(group: Waiting[], outcomes: Outcome[]): void {
    this.settling++;
    setImmediate(() => {
      this.settling--;
      this.settle(group, outcomes);
    });
  }

  /**
   * The COMMIT went out but its answer did not come back. Running the group again blindly could
   * post it twice, and failing it could report committed work as failed: the database is asked
   * (on another connection) what became of the group's transaction. Committed: the callers get
   * what the group decided. Rolled back: nothing happened, the group is sent again. Unknown
   * after POSTING_COMMIT_CHECK_MS: OUTCOME_UNKNOWN, and the caller retries with the same idempotency key.
   */
  private async afterLostCommit(group: Waiting[], lost: CommitUnacknowledged, xid: string | null, lostCommits: number): Promise<void> {
    const status = xid === null ? 'unknown' : await this.commitStatus(xid);
    this.logger.warn(`COMMIT of a posting group of ${group.length} was not acknowledged (${lost.message}); the database says: ${status}`);
    if (status === 'committed') {
      this.stats.unacknowledgedCommits.committed++;
      this.settle(group, lost.result as Outcome[]);
    } else if (status === 'aborted' && lostCommits < MAX_LOST_COMMIT_RERUNS) {
      this.stats.unacknowledgedCommits.rolledBack++;
      await this.post(group, { lostCommits: lostCommits + 1 });
    } else {
      this.stats.unacknowledgedCommits.unknown++;
      const unknown = new DomainError(
        ErrorCode.OUTCOME_UNKNOWN,
        'The ledger could not confirm whether this request was posted: retry it with the same idempotency key',
      );
      group.forEach((w) => w.reject(unknown));
    }
  }

  /** What became of a database transaction, asked until the database answers or POSTING_COMMIT_CHECK_MS pass. */
  private async commitStatus(xid: string): Promise<CommitStatus> {
    const deadline = Date.now() + this.config.commitCheckMs;
    for (let delayMs = 20; ; delayMs = Math.min(delayMs * 2, 1000)) {
      try {
        const [row] = await this.db.query<{ status: string | null }>('SELECT pg_xact_status($1::xid8) AS status', [xid]);
        if (row?.status === 'committed') return 'committed';
        if (row?.status === 'aborted') return 'aborted';
        // 'in progress': the server is still finishing the COMMIT; null: too old to know.
        if (row?.status !== 'in progress') return 'unknown';
      } catch (error) {
        this.logger.warn(`asking whether a posting group committed failed: ${(error as Error).message}`);
      }
      if (Date.now() + delayMs > deadline) return 'unknown';
      await sleep(delayMs);
    }
  }

  private settle(group: Waiting[], outcomes: Outcome[]): void {
    this.stats.groups++;
    outcomes.forEach((outcome, i) => {
      const waiting = group[i];
      if (!waiting) return;
      this.stats.commands++;
      if (outcome.ok) {
        this.stats.transactions += outcome.results.filter((r) => r.type !== 'sweep' && r.transaction && !r.replayed).length;
        waiting.resolve(outcome.results);
      } else {
        this.stats.refused++;
        waiting.reject(outcome.error);
      }
    });
  }
}

/** How a group is posted: its reruns so far, its hook, and the tip it is applied to (null: the ordinary way). */
interface PostRun {
  readonly lostCommits?: number;
  readonly onWriting?: (tip: GroupTip | null) => void;
  /** Withdraws the tip the group published (it will not commit as published). */
  readonly dropTip?: () => void;
  readonly races?: number;
  readonly ahead?: GroupTip | null;
}

/**
 * A group applied ahead found another state than it was applied to (migrations/0036): its write's
 * check said so, or the transactions' sequence it took was taken (another group came between).
 */
function foundAnotherState(error: unknown): boolean {
  const state = sqlState(error);
  if (state === 'SL001') return true;
  return state === '23505' && violatedConstraint(error) === 'transactions_sequence_key';
}

/** The unique index of idempotency records refused a group's write: another group recorded one of its requests after its load looked. */
function lostIdempotencyRace(error: unknown): boolean {
  if (sqlState(error) !== '23505') return false;
  const constraint = violatedConstraint(error);
  return constraint === 'idempotency_keys_scope_key' || constraint === 'idempotency_keys_legacy_key';
}

function decrement(counts: Map<string, number>, network: string): void {
  const left = (counts.get(network) ?? 1) - 1;
  if (left > 0) counts.set(network, left);
  else counts.delete(network);
}

/** A group's timings for POSTING_TRACE: its first query is the load, its second the write. */
function traced(trace: PostingTrace, group: readonly Waiting[]) {
  const taken = performance.now();
  const times: { start: number; end: number }[] = [];
  let begun = 0;
  return {
    wrap(tx: TransactionSql): TransactionSql {
      begun = performance.now();
      const timed = async <T>(send: () => Promise<T[]>) => {
        const time = { start: performance.now(), end: 0 };
        times.push(time);
        const rows = await send();
        time.end = performance.now();
        return rows;
      };
      return {
        query: <T>(text: string, params?: readonly unknown[]) => timed(() => tx.query<T>(text, params)),
        queryThenCommit: <T>(text: string, params: readonly unknown[]) => timed(() => tx.queryThenCommit<T>(text, params)),
      };
    },
    done(): void {
      const [load, write] = times;
      if (!load || !write) return;
      trace.record(group.length, {
        queued: Math.min(...group.map((w) => w.at)),
        taken,
        begun,
        loadSent: load.start,
        loaded: load.end,
        writeSent: write.start,
        written: times.at(-1)?.end ?? write.end,
        done: performance.now(),
      });
    },
  };
}

function idempotencyKeys(command: Command): string[] {
  const keys: string[] = [];
  if (!command.apiKeyId) return keys;
  // A loop, not flatMap: it runs for every command, and flatMap allocates an array per operation.
  for (const op of command.ops) {
    if ('idempotency' in op && op.idempotency) keys.push(`${command.apiKeyId}\u0000${op.idempotency.key}`);
  }
  return keys;
}

/** Refuses a command that cannot be posted at all; returns its idempotency keys. */
function checkCommand(command: Command): string[] {
  if (command.ops.length === 0) throw validationFailed('ops', 'nothing to post');
  const keys = idempotencyKeys(command);
  if (keys.length > 1 && new Set(keys).size !== keys.length) {
    throw validationFailed('idempotencyKey', 'each item needs its own idempotency key');
  }
  return keys;
}
