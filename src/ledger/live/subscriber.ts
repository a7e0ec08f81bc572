import { DomainError, ErrorCode } from '../../common/domain-error';
import type { Transaction } from '../transactions/transaction.model';

/** Events a slow client may have waiting before its subscription is ended. */
export const MAX_QUEUED_EVENTS = 1000;

/**
 * One `transactionPosted` subscription: an async iterator fed by the feed. Events arrive in
 * ledger order and at most once (`afterSequence` only grows). The iterator ends with an error
 * when the key is revoked or the client falls too far behind, and unregisters itself however it
 * ends.
 */
export class Subscriber implements AsyncIterableIterator<Transaction> {
  private readonly queue: Transaction[] = [];
  private waiting: { resolve: (result: IteratorResult<Transaction>) => void; reject: (error: unknown) => void } | null = null;
  private failure: Error | null = null;
  private finished = false;

  constructor(
    readonly accountId: string,
    readonly apiKeyId: string,
    /** The account's network: its sequences are the ones `afterSequence` counts. */
    readonly networkId: string,
    /** Only transactions after this sequence are delivered; null until the feed has placed it. */
    public afterSequence: bigint | null,
    private readonly onEnd: (subscriber: Subscriber) => void,
  ) {}

  get ended(): boolean {
    return this.finished;
  }

  /** Delivers a transaction unless it is not newer than the last one delivered; says whether it did. */
  push(transaction: Transaction): boolean {
    if (this.finished || this.failure !== null) return false;
    const sequence = BigInt(transaction.sequence);
    if (this.afterSequence !== null && sequence <= this.afterSequence) return false;
    this.afterSequence = sequence;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: transaction, done: false });
      return true;
    }
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.fail(
        new DomainError(ErrorCode.RATE_LIMITED, `more than ${MAX_QUEUED_EVENTS} transactions waited for this client; subscribe again`),
      );
      return false;
    }
    this.queue.push(transaction);
    return true;
  }

  /** Ends the subscription with an error, after nothing else: queued events are dropped. */
  fail(error: Error): void {
    if (this.finished) return;
    this.queue.length = 0;
    this.failure = error;
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = null;
      this.finish();
      reject(error);
    }
  }

  next(): Promise<IteratorResult<Transaction>> {
    const value = this.queue.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.failure !== null) {
      const error = this.failure;
      this.failure = null;
      this.finish();
      return Promise.reject(error);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Transaction>> {
    this.queue.length = 0;
    this.finish();
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<Transaction>> {
    void this.return();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Transaction> {
    return this;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd(this);
  }
}
