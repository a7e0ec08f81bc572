import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService } from '../scripts/lib/service-process';
import { CLIENTS, freshDatabase, runLoadProcess, setUp } from './common';

export interface WebhookCost {
  readonly setting: string;
  readonly transfer_tps: number;
  readonly p99_ms: number;
  /** Deliveries the receiver got during and up to 10 s after the run (1-webhook setting). */
  readonly delivered: number;
}

/**
 * The distinct-accounts transfer load with no webhook and with one active webhook (every
 * transfer owed to a local receiver that answers 200 at once), each on a fresh service and
 * database. SPEC B.7 / issue 17: the second within 10 % of the first. The receiver runs in
 * this process: it is cheap, and a dead one would not slow the posting path anyway.
 */
export async function measureWebhookCost(
  url: string,
  seconds: number,
  warmupSeconds: number,
  say: (m: string) => void,
): Promise<WebhookCost[]> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const results: WebhookCost[] = [];
  try {
    for (const webhooks of [0, 1]) {
      const service = await startService(
        await freshDatabase(url, 'ledger_bench_webhooks'),
        { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE: 'true' },
        `sl_bench_${randomBytes(16).toString('hex')}`,
      );
      try {
        const fixture = await setUp(service);
        if (webhooks === 1) {
          await fixture.admin.ok('mutation($url: String!) { createWebhook(url: $url, events: [TRANSACTION_POSTED]) { secret } }', {
            url: receiverUrl,
          });
        }
        const spec = { url: service.url, key: service.adminKey, connections: CLIENTS, pairs: fixture.pairs, oneWay: false };
        await runLoadProcess({ ...spec, durationSec: warmupSeconds, label: 'warm-up' });
        const setting = `${webhooks} active webhook${webhooks === 1 ? '' : 's'}`;
        say(`transfer with ${setting}, ${seconds}s`);
        received = 0;
        const load = await runLoadProcess({ ...spec, durationSec: seconds, label: setting });
        // Deliveries may trail the load a little; they never hold it up.
        const deadline = Date.now() + 10_000;
        while (webhooks === 1 && received < load.requests && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        say(`  ${load.perSecond} tx/s, p99 ${load.latencyP99Ms} ms${webhooks === 1 ? `, ${received} deliveries received` : ''}`);
        results.push({ setting, transfer_tps: load.perSecond, p99_ms: load.latencyP99Ms, delivered: webhooks === 1 ? received : 0 });
      } finally {
        await service.stop();
      }
    }
  } finally {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
  return results;
}
