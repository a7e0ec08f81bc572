import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { transfer } from '../support/ledger';
import { startService, type RunningService } from '../support/service';
import { dataOf, newMember, setUpHours, type Member } from '../timebank/helpers';
import { createWebhook, waitUntil } from './helpers';
import { Receiver } from './receiver';

const ENV = { WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_MIN_MS: '200', WEBHOOK_TIMEOUT_MS: '1000' };
const BACKLOG = 600;

describe('a backlog of due webhook deliveries', () => {
  let databaseUrl: string;
  let adminKey: string;
  const services: RunningService[] = [];
  let ana: Member;
  let ben: Member;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase({ migrated: true });
    const first = await startService(databaseUrl, ENV);
    services.push(first);
    adminKey = first.adminKey;
    const admin = new GqlClient(first.url, adminKey);
    await setUpHours(admin);
    ana = await newMember(admin, 'Ana', { creditLimit: '100000' });
    ben = await newMember(admin, 'Ben');
  });
  afterAll(async () => {
    for (const service of services) await service.stop();
  });

  it('is claimed as fast as the receiver answers, not one batch a poll interval', async () => {
    // The deliveries pile up while the receiver is down, and the service that made them stops.
    const down = await new Receiver().start();
    const port = down.port;
    const first = services[0] as RunningService;
    dataOf(await createWebhook(new GqlClient(first.url, adminKey), { url: down.url('/backlog'), events: ['TRANSACTION_POSTED'] }));
    await down.stop();
    const client = new GqlClient(first.url, ana.key);
    const posted: string[] = [];
    for (let i = 0; i < BACKLOG; i += 20) {
      const batch = Array.from({ length: 20 }, (_, j) => transfer(client, ana.accountId, ben.accountId, '0.01', `backlog-${i + j}`));
      for (const answer of await Promise.all(batch)) posted.push(dataOf(answer).transfer.id);
    }
    await first.stop();
    const db = await connect(databaseUrl);
    try {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'PENDING'`);
      // Most of them (the events of the round under way when it stopped are fanned out again by the next instance).
      expect(rows[0]?.n).toBeGreaterThan(BACKLOG / 2);
      // Their retries all due now (the receiver was down for a while: some had their delays grow to seconds).
      await db.query(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'PENDING'`);
    } finally {
      await db.end();
    }
    // The next instance looks for due deliveries once a minute. A claim takes at most a webhook's
    // room (tens of deliveries for a receiver not heard yet): the rest must follow as its sends are
    // answered, not a minute later each.
    const back = await new Receiver().start(port);
    try {
      services.push(await startService(databaseUrl, { ...ENV, WEBHOOK_POLL_MS: '60000' }, adminKey));
      await waitUntil(
        'the whole backlog delivered',
        () => {
          const sent = new Set(back.at('/backlog').map((r) => r.body.data.transaction.id as string));
          return posted.every((id) => sent.has(id));
        },
        30_000,
      );
    } finally {
      await back.stop();
    }
  });
});
