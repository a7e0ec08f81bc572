import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { NextTurn } from '../common/event-loop';
import type { FromSendThread, SendRequest, SendResult, SendThreadOptions, ToSendThread } from './send-thread';
import { signatureHeader } from './signature';
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
  // The event's data goes out as the database keeps it: spliced in, never parsed and written again. The other fields are
  // uuids, a type name of the LedgerEventType enum and an ISO time, none with a character JSON escapes: written as they are,
  // as JSON.stringify of the object would write them. The body is encoded once: those bytes are signed and sent.
  const body = Buffer.from(
    `{"id":"${r.eventId}","type":"${r.eventType}","network":"${r.networkId}","occurredAt":"${new Date(r.occurredAtMs).toISOString()}","data":${r.data}}`,
  );
  const startedMs = performance.now();
  // Name, value, name, value: written into the request as they are (webhook-sender.ts).
  const headers = [
    'content-type',
    'application/json',
    'ledger-signature',
    signatureHeader(keyOf(r.secret), body, Math.floor(Date.now() / 1000)),
    'ledger-event-id',
    r.eventId,
    'ledger-event-type',
    r.eventType,
    'ledger-delivery-attempt',
    String(r.attempts),
    'user-agent',
    'SolidarityLedger-Webhooks/1',
  ];
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
