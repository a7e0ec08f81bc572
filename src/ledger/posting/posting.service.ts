import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { validationFailed } from '../../common/domain-error';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { Database, isRetryable } from '../../database/database';
import { type Outcome, PostingGroup } from './posting-group';
import type { Command, Op, OpResult } from './posting.types';

interface Waiting {
  readonly command: Command;
  readonly resolve: (results: OpResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Counters read by /metrics. */
export interface PostingStats {
  groups: number;
  commands: number;
  refused: number;
  transactions: number;
  isolatedReruns: number;
}

const MAX_OPS_PER_GROUP = 5000;
const MAX_QUEUE = 20_000;

/**
 * THE only writer of ledger rows. Callers submit commands; commands that arrive while a group
 * is being written wait and are posted together in the next group (group commit). At most
 * `postingGroupsInFlight` groups are in flight per instance; groups of all instances serialise
 * on the ledger head row.
 */
@Injectable()
export class PostingService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PostingService.name);
  private queue: Waiting[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  readonly stats: PostingStats = { groups: 0, commands: 0, refused: 0, transactions: 0, isolatedReruns: 0 };

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Posts one command; resolves with one result per operation, or rejects with its refusal. */
  submit(command: Command): Promise<OpResult[]> {
    if (this.closed) return Promise.reject(new Error('The ledger is shutting down; retry with the same idempotency key'));
    checkCommand(command);
    if (this.queue.length >= MAX_QUEUE) return Promise.reject(new Error('The posting queue is full; retry shortly'));
    return new Promise<OpResult[]>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.draining ??= this.drain().finally(() => {
        this.draining = null;
      });
    });
  }

  /** Convenience for the common case of a command with one operation. */
  async submitOne(op: Op, apiKeyId: string | null, afterPost?: Command['afterPost']): Promise<OpResult> {
    const [result] = await this.submit({ ops: [op], apiKeyId, afterPost });
    if (!result) throw new Error('the posting service returned no result');
    return result;
  }

  /** Whether this caller has already used this idempotency key for something that was posted. */
  async hasIdempotencyKey(apiKeyId: string, key: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM idempotency_keys WHERE api_key_id = $1 AND key = $2', [apiKeyId, key]);
    return rows.length > 0;
  }

  /** Refuses new commands and waits until every queued one is posted or refused. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private async drain(): Promise<void> {
    // Yield once so that requests arriving in the same tick join the first group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await Promise.all(Array.from({ length: this.config.postingGroupsInFlight }, () => this.lane()));
  }

  /**
   * One lane posts one group at a time. With two lanes the next group is already sent and
   * waiting on the ledger head while the previous one commits, which hides a round trip; the
   * head lock still puts all groups in one order, so idempotency and limits hold across lanes.
   */
  private async lane(): Promise<void> {
    while (this.queue.length > 0) {
      await this.post(this.takeGroup());
    }
  }

  /**
   * Takes the next commands in arrival order. A command reusing an idempotency key already in
   * the group waits for the next group, where it finds the first one's result.
   */
  private takeGroup(): Waiting[] {
    const taken: Waiting[] = [];
    const rest: Waiting[] = [];
    const keys = new Set<string>();
    let ops = 0;
    for (const waiting of this.queue) {
      const commandKeys = idempotencyKeys(waiting.command);
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

  private async post(group: Waiting[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.db.transaction((tx) =>
        PostingGroup.run(
          tx,
          group.map((w) => w.command),
        ),
      );
    } catch (error) {
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

function idempotencyKeys(command: Command): string[] {
  if (!command.apiKeyId) return [];
  return command.ops.flatMap((op) => ('idempotency' in op && op.idempotency ? [`${command.apiKeyId}\u0000${op.idempotency.key}`] : []));
}

function checkCommand(command: Command): void {
  if (command.ops.length === 0) throw validationFailed('ops', 'nothing to post');
  const keys = idempotencyKeys(command);
  if (new Set(keys).size !== keys.length) {
    throw validationFailed('idempotencyKey', 'each item needs its own idempotency key');
  }
}
