import { type AddressInfo, createServer } from 'node:net';
import { startCountingReceiver, type CountingReceiver } from '../../bench/webhooks';
import { WebhookSender } from '../../src/webhooks/webhook-sender';
import { readRequests, Receiver } from './receiver';
import { waitUntil } from './helpers';

const TIMEOUT_MS = 1500;
const PER_WEBHOOK = 4;
const PIPELINE_DEPTH = 32;

/**
 * The sender's two ways to a receiver (webhook-sender.ts): a fast one's sends pipelined on one
 * connection, up to the pipeline depth, leaving in few writes; a slow one's on connections of
 * their own, never more than the per-webhook concurrency.
 */
describe('webhook sender pipelining', () => {
  let sender: WebhookSender;
  beforeEach(() => {
    sender = new WebhookSender(TIMEOUT_MS, true, PER_WEBHOOK, PIPELINE_DEPTH);
  });
  afterEach(() => sender.close());

  const send = (url: string, i: number, pipelined: boolean) =>
    sender.send('webhook-1', url, Buffer.from(JSON.stringify({ id: i })), ['content-type', 'application/json'], pipelined);

  describe('to a receiver that answers at once', () => {
    let receiver: CountingReceiver;
    beforeEach(async () => {
      receiver = await startCountingReceiver();
    });
    afterEach(async () => {
      await receiver.close();
    });

    it('sends a pipeline depth of deliveries started together in a few writes, far more than the per-webhook concurrency per read', async () => {
      // A first send opens the kept-alive connection; sends started together on it leave in one write.
      expect(await send(receiver.url, 0, true)).toEqual({ statusCode: 200, error: null });
      const readsBefore = receiver.reads;
      const outcomes = await Promise.all(Array.from({ length: PIPELINE_DEPTH }, (_, i) => send(receiver.url, i + 1, true)));
      expect(outcomes.every((o) => o.statusCode === 200 && o.error === null)).toBe(true);
      expect(receiver.received).toBe(PIPELINE_DEPTH + 1);
      const reads = receiver.reads - readsBefore;
      expect(reads).toBeGreaterThan(0);
      expect(PIPELINE_DEPTH / reads).toBeGreaterThan(PER_WEBHOOK);
    });
  });

  describe('to a receiver that reads slowly', () => {
    it('delivers every byte of flushes the kernel could not take at once (their buffers are not reused under them)', async () => {
      const bodies = new Map<number, string>();
      const received = new Map<number, string>();
      const server = createServer((socket) => {
        // Not reading at first: the sender's writes fill the socket's buffers and wait for room.
        socket.pause();
        setTimeout(() => socket.resume(), 300);
        readRequests(socket, (bytes) => {
          const body = bytes.toString('utf8');
          received.set((JSON.parse(body) as { id: number }).id, body);
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      try {
        const sends: Promise<unknown>[] = [];
        // Three turns of the event loop, each a flush of a pipeline depth of 256 KiB requests, each body its own.
        for (let turn = 0; turn < 3; turn++) {
          for (let i = 0; i < PIPELINE_DEPTH; i++) {
            const id = turn * PIPELINE_DEPTH + i;
            const body = JSON.stringify({ id, fill: String.fromCharCode(97 + (id % 26)).repeat(256 * 1024) });
            bodies.set(id, body);
            sends.push(sender.send('webhook-1', url, Buffer.from(body), [], true));
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        const outcomes = (await Promise.all(sends)) as { statusCode: number | null }[];
        expect(outcomes.filter((o) => o.statusCode === 200)).toHaveLength(bodies.size);
        expect(received.size).toBe(bodies.size);
        for (const [id, body] of bodies) expect(received.get(id) === body).toBe(true);
      } finally {
        // The sender's kept-alive connection ends first: the server waits for its connections to close.
        sender.close();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('to a receiver that does not answer', () => {
    let receiver: Receiver;
    beforeEach(async () => {
      receiver = await new Receiver().start();
      receiver.on('/hang', () => 'hang');
    });
    afterEach(async () => {
      await receiver.stop();
    });

    it('holds at most the per-webhook concurrency of unpipelined sends open at the receiver', async () => {
      const sends = Array.from({ length: 3 * PER_WEBHOOK }, (_, i) => send(receiver.url('/hang'), i, false));
      await waitUntil('the first sends', () => receiver.at('/hang').length >= PER_WEBHOOK);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.at('/hang')).toHaveLength(PER_WEBHOOK);
      const outcomes = await Promise.all(sends);
      expect(outcomes.every((o) => o.statusCode === null && o.error !== null)).toBe(true);
    });

    it('fails every pipelined send at the first timeout, not one timeout after another', async () => {
      const started = Date.now();
      const outcomes = await Promise.all(Array.from({ length: PIPELINE_DEPTH }, (_, i) => send(receiver.url('/hang'), i, true)));
      expect(outcomes.every((o) => o.statusCode === null && o.error !== null)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3 * TIMEOUT_MS);
    });
  });
});
