import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { signatureHeader } from '../../src/webhooks/signature';
import type { SendRequest, SendResult, SendThread as SendThreadType, SendThreadOptions } from '../../src/webhooks/send-thread';
import { projectRoot } from '../../src/common/project-root';
import { Receiver } from './receiver';

// The thread runs the built worker (dist/src/webhooks/webhook-send-worker.js), as the service does: `npm test` builds first.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the built module, whose worker file sits beside it
const { SendThread } = require(join(projectRoot(), 'dist/src/webhooks/send-thread.js')) as {
  SendThread: new (options: SendThreadOptions, onResult: (result: SendResult) => void) => SendThreadType;
};

const SECRET = 'whsec_send_thread_test_secret_0123456789';
const NICE = 7;

/** A delivery of the event `eventId` to `url`, as the dispatcher hands it over. */
function request(key: number, url: string, eventId: string): SendRequest {
  return {
    key,
    webhookId: '00000000-0000-4000-8000-0000000000a1',
    url,
    pipelined: false,
    secret: Buffer.from(SECRET).toString('latin1'),
    eventId,
    eventType: 'TRANSACTION_POSTED',
    networkId: '00000000-0000-4000-8000-000000000001',
    occurredAtMs: Date.UTC(2026, 11, 2, 9, 30, 0, 123),
    data: '{"transaction":{"memo":"caf\u00e9 \u2615","postings":[]}}',
    attempts: 3,
  };
}

/** The nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

/**
 * The webhook sending thread (src/webhooks/send-thread.ts): what the dispatcher hands over is
 * built, signed and sent there, exactly as SPEC B.7 says, and a thread that dies loses nothing
 * silently: what it held fails (to be retried) and a new thread takes the next sends.
 */
describe('the webhook sending thread', () => {
  let receiver: Receiver;
  let thread: SendThreadType;
  const results = new Map<number, SendResult>();
  const resultOf = async (key: number): Promise<SendResult> => {
    for (let i = 0; i < 200 && !results.has(key); i++) await new Promise((r) => setTimeout(r, 25));
    const result = results.get(key);
    if (!result) throw new Error(`no result for send ${key}`);
    return result;
  };

  beforeEach(async () => {
    receiver = await new Receiver().start();
    results.clear();
    thread = new SendThread({ timeoutMs: 3000, allowPrivate: true, perWebhook: 4, pipelineDepth: 32, nice: NICE }, (result) =>
      results.set(result[0], result),
    );
  });
  afterEach(async () => {
    await thread.close();
    await receiver.stop();
  });

  it('sends the body and headers SPEC B.7 pins, signed over the bytes sent, and hands the answer back', async () => {
    const before = Math.floor(Date.now() / 1000);
    thread.send(request(1, receiver.url('/ok'), '00000000-0000-4000-8000-0000000000e1'));
    const [key, status, error, answerMs] = await resultOf(1);
    expect([key, status, error]).toEqual([1, 200, null]);
    expect(answerMs).toBeGreaterThan(0);
    const [got] = receiver.at('/ok');
    expect(got?.raw).toBe(
      '{"id":"00000000-0000-4000-8000-0000000000e1","type":"TRANSACTION_POSTED","network":"00000000-0000-4000-8000-000000000001",' +
        '"occurredAt":"2026-12-02T09:30:00.123Z","data":{"transaction":{"memo":"café ☕","postings":[]}}}',
    );
    const t = Number(/^t=(\d+),/.exec(String(got?.headers['ledger-signature']))?.[1]);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(got?.headers['ledger-signature']).toBe(signatureHeader(SECRET, Buffer.from(got?.raw ?? ''), t));
    expect(got?.headers['ledger-delivery-attempt']).toBe('3');
    expect(got?.headers['ledger-event-type']).toBe('TRANSACTION_POSTED');
  });

  it('runs at the nice value it was given, below the rest of the process (Linux)', async () => {
    thread.send(request(2, receiver.url('/ok'), '00000000-0000-4000-8000-0000000000e2'));
    expect((await resultOf(2))[1]).toBe(200);
    const values = threadNiceValues();
    expect(values.filter((n) => n === NICE)).toHaveLength(1);
    // Every other thread keeps the process's own priority.
    expect(values.filter((n) => n !== NICE).every((n) => n === getPriority())).toBe(true);
  });

  it('holds what is sent while gathering, across turns of the event loop, and hands it over in one message at flush', async () => {
    const posted: number[] = [];
    const worker = () => (thread as unknown as { worker: { postMessage(message: { sends?: unknown[] }): void } | null }).worker;
    // A first send starts the thread, so that its messages can be counted.
    thread.send(request(5, receiver.url('/ok'), '00000000-0000-4000-8000-0000000000e5'));
    expect((await resultOf(5))[1]).toBe(200);
    const live = worker();
    if (!live) throw new Error('no sending thread');
    const postMessage = live.postMessage.bind(live);
    live.postMessage = (message) => {
      posted.push(message.sends?.length ?? 0);
      postMessage(message);
    };
    thread.gather();
    thread.send(request(6, receiver.url('/ok'), '00000000-0000-4000-8000-0000000000e6'));
    await new Promise((r) => setImmediate(r));
    thread.send(request(7, receiver.url('/ok'), '00000000-0000-4000-8000-0000000000e7'));
    await new Promise((r) => setTimeout(r, 50));
    expect(posted).toEqual([]);
    expect(thread.waitingCount).toBe(2);
    expect(receiver.at('/ok')).toHaveLength(1);
    thread.flush();
    expect(posted).toEqual([2]);
    expect((await resultOf(6))[1]).toBe(200);
    expect((await resultOf(7))[1]).toBe(200);
    expect(receiver.at('/ok')).toHaveLength(3);
  });

  it('fails the sends a dying thread held, and sends the next ones on a new thread', async () => {
    receiver.on('/hang', () => 'hang');
    thread.send(request(3, receiver.url('/hang'), '00000000-0000-4000-8000-0000000000e3'));
    for (let i = 0; i < 200 && receiver.at('/hang').length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(receiver.at('/hang')).toHaveLength(1);
    // The thread dies with the send in flight (as if it crashed).
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const [, status, error] = await resultOf(3);
    expect(status).toBeNull();
    expect(error).toMatch(/^the webhook sending thread stopped/);
    thread.send(request(4, receiver.url('/ok'), '00000000-0000-4000-8000-0000000000e4'));
    expect(await resultOf(4)).toEqual([4, 200, null, expect.any(Number)]);
  });
});
