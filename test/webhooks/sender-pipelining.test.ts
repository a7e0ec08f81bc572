import { startCountingReceiver, type CountingReceiver } from '../../bench/webhooks';
import { WebhookSender } from '../../src/webhooks/webhook-sender';
import { Receiver } from './receiver';
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
