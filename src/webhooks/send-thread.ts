import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NextTurn } from '../common/event-loop';
import type { DeliveryFields } from './delivery-request';

/** What the sending thread needs to build, sign and send one delivery. */
export interface SendRequest extends DeliveryFields {
  /** The dispatcher's number for this send: its result comes back under it. */
  readonly key: number;
  readonly webhookId: string;
  readonly url: string;
  /** On the webhook's one pipelined connection, or a connection of its own (webhook-sender.ts). */
  readonly pipelined: boolean;
  /**
   * The signing secret's bytes, one character each (latin1): a string crosses to the thread as its
   * characters, where a Buffer would bring the whole pooled memory it is a view of.
   */
  readonly secret: string;
}

/** A send's outcome: its key, the receiver's status (null when there was no answer), the error (null: delivered), the answer time. */
export type SendResult = readonly [key: number, statusCode: number | null, error: string | null, answerMs: number];

/** The sending thread's settings (webhook-sender.ts), and how far below the service's priority it runs. */
export interface SendThreadOptions {
  readonly timeoutMs: number;
  readonly allowPrivate: boolean;
  readonly perWebhook: number;
  readonly pipelineDepth: number;
  /** The thread's nice value (0 to 19, Linux): 0 keeps the service's own priority. */
  readonly nice: number;
}

export type ToSendThread = { readonly sends: readonly SendRequest[] } | { readonly close: true };
export interface FromSendThread {
  readonly results: readonly SendResult[];
}

/** How long closing waits for the thread to close its connections before it is stopped. */
const CLOSE_WAIT_MS = 5_000;

/**
 * The webhook sends run on a thread of their own (`webhook-send-worker.ts`): building each body,
 * signing it, writing requests (TLS included) and reading answers. The posting groups' event loop
 * only hands over what a turn (or a `gather`ed run of turns) started, in one message, and takes
 * the results back the same way, so a delivery's work never runs between a posting group's answer
 * from the database and its next step. The thread runs at a lower priority (`nice`) than the
 * service: on a machine whose cores are all busy, the ledger's own work comes first and
 * deliveries wait (each within its timeout, and retried as any failed attempt), never the reverse.
 *
 * If the thread dies, every send it held fails (to be retried as any failed attempt) and a new
 * thread takes the next ones.
 */
export class SendThread {
  private worker: Worker | null = null;
  private waiting: SendRequest[] = [];
  /** Keys of the sends handed to the thread and not answered yet. */
  private readonly held = new Set<number>();
  private readonly handOver = new NextTurn(() => this.post());
  private closing = false;
  private gathering = false;

  constructor(
    private readonly options: SendThreadOptions,
    private readonly onResult: (result: SendResult) => void,
  ) {}

  /**
   * Sends one delivery: handed to the thread with the others sent before the next `flush` (or,
   * failing that, the event loop's next turn), in one message.
   */
  send(request: SendRequest): void {
    this.waiting.push(request);
    this.handOver.ask();
  }

  /** Sends waiting to be handed over. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Holds what is sent from now on until `flush`, across turns of the event loop: a caller that
   * starts its sends in slices (the dispatcher) hands them over in one message, not one per
   * slice. Each message wakes the thread and leaves in its own write to the receiver.
   */
  gather(): void {
    this.gathering = true;
  }

  /** Hands over what waits, now, and ends `gather`. */
  flush(): void {
    this.gathering = false;
    this.post();
  }

  /** Closes the thread's connections and ends it (the sends it still held fail). */
  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true } satisfies ToSendThread);
    const timer = setTimeout(() => void worker.terminate(), CLOSE_WAIT_MS);
    await exited;
    clearTimeout(timer);
  }

  private post(): void {
    if (this.waiting.length === 0 || this.gathering) return;
    const sends = this.waiting;
    this.waiting = [];
    for (const send of sends) this.held.add(send.key);
    this.thread().postMessage({ sends } satisfies ToSendThread);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(join(__dirname, 'webhook-send-worker.js'), { workerData: this.options });
    // The service's shutdown closes it; it never holds the process open by itself.
    worker.unref();
    worker.on('message', (message: FromSendThread) => {
      for (const result of message.results) this.settle(result);
    });
    worker.on('error', (error) => this.lost(worker, error.message));
    worker.on('exit', (code) => this.lost(worker, `exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private settle(result: SendResult): void {
    if (this.held.delete(result[0])) this.onResult(result);
  }

  /** The thread ended: what it held fails, and the next sends start a new thread. */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const error = this.closing ? 'the sender was closed' : `the webhook sending thread stopped (${why})`;
    for (const key of [...this.held]) this.settle([key, null, error, 0]);
    if (this.closing) for (const send of this.waiting.splice(0)) this.onResult([send.key, null, error, 0]);
    else if (this.waiting.length > 0) this.handOver.ask();
  }
}
