import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService } from '../scripts/lib/service-process';
import { analyzeDatabase, CLIENTS, freshDatabase, runLoadProcess, type SettingRuns, settingRuns, setUp } from './common';
import type { LoadResult } from './load';

export interface WebhookCost {
  readonly none: SettingRuns;
  readonly one: SettingRuns;
  /** Median throughput with one webhook over the median with none (target >= 0.9). */
  readonly ratioOfMedians: number;
  /** Deliveries the receiver got for the 1-webhook runs, and the transfers those runs posted. */
  readonly delivered: number;
  readonly posted: number;
}

/** How long the deliveries of a 1-webhook run may trail it before the next run starts. */
const DELIVERY_CATCH_UP_MS = 20_000;

/**
 * The distinct-accounts transfer load with no webhook and with one active webhook (every
 * transfer owed to a local receiver that answers 200 at once), on one service: the webhook is
 * created before each 1-webhook run and deleted after it, and runs alternate none, one, none,
 * one... (`rounds` of each) after one warm-up, so drift on the machine touches both alike.
 * Before deleting, the bench waits (up to 20 s) for the run's deliveries, so none of that work
 * spills into the next run without a webhook. SPEC B.7 / issue 17: one within 10 % of none.
 * The receiver runs in this process: it is cheap, and a dead one would not slow the posting
 * path anyway.
 */
export async function measureWebhookCost(
  url: string,
  rounds: number,
  seconds: number,
  warmupSeconds: number,
  say: (m: string) => void,
): Promise<WebhookCost> {
  const receiver = await startCountingReceiver();
  const receiverUrl = receiver.url;
  const databaseUrl = await freshDatabase(url, 'ledger_bench_webhooks');
  const service = await startService(
    databaseUrl,
    { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE: 'true' },
    `sl_bench_${randomBytes(16).toString('hex')}`,
  );
  try {
    const fixture = await setUp(service);
    const spec = { url: service.url, key: service.adminKey, keys: fixture.keys, connections: CLIENTS, pairs: fixture.pairs, oneWay: false };
    await runLoadProcess({ ...spec, durationSec: warmupSeconds, label: 'warm-up' });
    await analyzeDatabase(databaseUrl);
    const none: LoadResult[] = [];
    const one: LoadResult[] = [];
    let delivered = 0;
    for (let round = 1; round <= rounds; round++) {
      const withoutLoad = await runLoadProcess({ ...spec, durationSec: seconds, label: `no webhook, round ${round}` });
      say(`  no webhook, round ${round}: ${withoutLoad.perSecond} tx/s, p99 ${withoutLoad.latencyP99Ms} ms`);
      none.push(withoutLoad);
      const created = await fixture.admin.ok(
        'mutation($url: String!) { createWebhook(url: $url, events: [TRANSACTION_POSTED]) { webhook { id } } }',
        { url: receiverUrl },
      );
      receiver.received = 0;
      const withLoad = await runLoadProcess({ ...spec, durationSec: seconds, label: `1 webhook, round ${round}` });
      // Deliveries may trail the load a little; they never hold it up.
      const deadline = Date.now() + DELIVERY_CATCH_UP_MS;
      while (receiver.received < withLoad.requests && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await fixture.admin.ok('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: created.createWebhook.webhook.id });
      say(
        `  1 webhook, round ${round}: ${withLoad.perSecond} tx/s, p99 ${withLoad.latencyP99Ms} ms, ${receiver.received} deliveries received`,
      );
      delivered += receiver.received;
      one.push(withLoad);
    }
    const noneRuns = settingRuns('no webhook', none);
    const oneRuns = settingRuns('1 active webhook', one);
    return {
      none: noneRuns,
      one: oneRuns,
      ratioOfMedians: noneRuns.tps.median === 0 ? 0 : Math.round((oneRuns.tps.median / noneRuns.tps.median) * 1000) / 1000,
      delivered,
      posted: one.reduce((sum, l) => sum + l.requests - l.mismatches - l.non2xx, 0),
    };
  } finally {
    await service.stop();
    await receiver.close();
  }
}

/** A local webhook receiver that answers 200 at once and counts what it got (`received` may be reset). */
export interface CountingReceiver {
  readonly url: string;
  received: number;
  close(): Promise<void>;
}

export async function startCountingReceiver(): Promise<CountingReceiver> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      receiver.received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const receiver: CountingReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
