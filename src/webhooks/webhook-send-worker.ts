import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { NextTurn } from '../common/event-loop';
import { deliveryRequest } from './delivery-request';
import type { FromSendThread, SendRequest, SendResult, SendThreadOptions, ToSendThread } from './send-thread';
import { WebhookSender } from './webhook-sender';

/**
 * The webhook sending thread (send-thread.ts): builds, signs and sends the deliveries the
 * dispatcher hands over, and hands the outcomes back, those of one turn of its event loop in one
 * message.
 */
const options = workerData as SendThreadOptions;
const port = parentPort;
if (!port) throw new Error('webhook-send-worker runs as a worker thread');
lowerPriority(options.nice);

const sender = new WebhookSender(options.timeoutMs, options.allowPrivate, options.perWebhook, options.pipelineDepth);
let results: SendResult[] = [];
/** Secrets as HMAC keys, by their latin1 text (a webhook's secret does not change; bounded all the same). */
const keys = new Map<string, Buffer>();
const MAX_KEYS = 2048;
const handBack = new NextTurn(() => {
  const message: FromSendThread = { results };
  results = [];
  port.postMessage(message);
});

port.on('message', (message: ToSendThread) => {
  if ('close' in message) {
    sender.close();
    port.close();
    return;
  }
  for (const request of message.sends) send(request);
});

function send(r: SendRequest): void {
  const { body, headers } = deliveryRequest(r, keyOf(r.secret));
  const startedMs = performance.now();
  void sender.send(r.webhookId, r.url, body, headers, r.pipelined).then((outcome) => {
    results.push([r.key, outcome.statusCode, outcome.error, performance.now() - startedMs]);
    handBack.ask();
  });
}

function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    keys.set(secret, (key = Buffer.from(secret, 'latin1')));
  }
  return key;
}

/**
 * On Linux a thread has a nice value of its own (setpriority on its thread id): this one's is
 * raised so that the service's main thread, and PostgreSQL, come first when the cores are busy.
 * Elsewhere, or if refused, the thread keeps the service's priority.
 */
function lowerPriority(nice: number): void {
  if (nice === 0 || process.platform !== 'linux') return;
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), nice);
  } catch {
    // Kept at the service's priority.
  }
}
