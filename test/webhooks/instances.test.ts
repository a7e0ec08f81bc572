import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { transfer } from '../support/ledger';
import { startService, type RunningService } from '../support/service';
import { dataOf, newMember, setUpHours, type Member } from '../timebank/helpers';
import { createWebhook, waitUntil } from './helpers';
import { Receiver } from './receiver';

const ENV = { WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_MIN_MS: '200', WEBHOOK_TIMEOUT_MS: '1000' };

/** Attempts this instance made, from its /metrics. */
async function attemptsOf(service: RunningService): Promise<number> {
  const response = await fetch(`${service.baseUrl}/metrics`, { headers: { authorization: `Bearer ${service.adminKey}` } });
  const text = await response.text();
  return [...text.matchAll(/^ledger_webhook_attempts_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('webhook deliveries across restarts, crashes and instances', () => {
  let databaseUrl: string;
  let adminKey: string;
  let receiver: Receiver;
  const services: RunningService[] = [];
  let ana: Member;
  let ben: Member;
  let n = 0;

  async function start(): Promise<RunningService> {
    const service = await startService(databaseUrl, ENV, adminKey);
    services.push(service);
    return service;
  }

  async function pay(service: RunningService): Promise<string> {
    n++;
    return dataOf(await transfer(new GqlClient(service.url, ana.key), ana.accountId, ben.accountId, '0.01', `i-${n}`)).transfer.id;
  }

  const ids = (path: string) => receiver.at(path).map((r) => r.body.data.transaction.id as string);

  beforeAll(async () => {
    receiver = await new Receiver().start();
    databaseUrl = await createTestDatabase({ migrated: true });
    const first = await start();
    adminKey = first.adminKey;
    const admin = new GqlClient(first.url, adminKey);
    await setUpHours(admin);
    ana = await newMember(admin, 'Ana', { creditLimit: '1000' });
    ben = await newMember(admin, 'Ben');
  });
  afterAll(async () => {
    for (const service of services) await service.stop();
    await receiver.stop();
  });

  it('sends every event at least once after the service is SIGKILLed mid-delivery and started again', async () => {
    const service = services[0] as RunningService;
    receiver.on('/crash', () => 'hang');
    dataOf(await createWebhook(new GqlClient(service.url, adminKey), { url: receiver.url('/crash'), events: ['TRANSACTION_POSTED'] }));
    const posted: string[] = [];
    for (let i = 0; i < 5; i++) posted.push(await pay(service));
    await waitUntil('deliveries in flight', () => receiver.at('/crash').length >= 1);
    await service.kill();
    receiver.on('/crash', () => 200);
    const restarted = await start();
    await waitUntil('every event delivered', () => posted.every((id) => ids('/crash').includes(id)), 30_000);
    expect(restarted.process.exitCode).toBeNull();
  });

  it('sends a whole burst at least once after a SIGKILL while most of it waits claimed in the queue', async () => {
    // Fan-out claims a burst's deliveries for its instance at once and sends them four at a time:
    // the ones still queued when the instance dies come due again when their lease ends.
    const service = services.at(-1) as RunningService;
    receiver.on('/burst', () => 'hang');
    const admin = new GqlClient(service.url, adminKey);
    const created = dataOf(await createWebhook(admin, { url: receiver.url('/burst'), events: ['TRANSACTION_POSTED'] }));
    const posted = await Promise.all(Array.from({ length: 40 }, () => pay(service)));
    await waitUntil('the first sends in flight', () => receiver.at('/burst').length >= 1);
    await service.kill();
    receiver.on('/burst', () => 200);
    const restarted = await start();
    await waitUntil('every event of the burst delivered', () => posted.every((id) => ids('/burst').includes(id)), 30_000);
    await new GqlClient(restarted.url, adminKey).ok('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', {
      id: created.createWebhook.webhook.id,
    });
  });

  it('fans a round out again after a SIGKILL before the round wrote the deliveries it claimed', async () => {
    // A fan-out round writes the deliveries it claimed once they are answered (or after 250 ms),
    // its network's cursor leased meanwhile: an instance killed before that wrote none of them,
    // and when the lease ends the events are fanned out and sent again.
    const service = services.at(-1) as RunningService;
    receiver.on('/round', () => 'hang');
    const created = dataOf(
      await createWebhook(new GqlClient(service.url, adminKey), { url: receiver.url('/round'), events: ['TRANSACTION_POSTED'] }),
    );
    const webhookId = created.createWebhook.webhook.id;
    const db = await connect(databaseUrl);
    try {
      const unwritten = async () => {
        const { rows } = await db.query<{ leased: boolean; written: number }>(
          `SELECT EXISTS (SELECT 1 FROM webhook_fan_out WHERE leased_until > now()) AS leased,
                  (SELECT count(*)::int FROM webhook_deliveries_listed WHERE webhook_id = $1) AS written`,
          [webhookId],
        );
        return rows[0] as { leased: boolean; written: number };
      };
      const posted = [await pay(service), await pay(service)];
      // Polled tightly: the round stays open (its receiver never answers) for 250 ms.
      const deadline = Date.now() + 15_000;
      for (let state = await unwritten(); !(state.leased && state.written === 0); state = await unwritten()) {
        if (Date.now() > deadline) throw new Error('no round was seen under way');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await service.kill();
      expect((await unwritten()).written).toBe(0);
      receiver.on('/round', () => 200);
      const restarted = await start();
      await waitUntil('both events delivered after the lease', () => posted.every((id) => ids('/round').includes(id)), 30_000);
      await new GqlClient(restarted.url, adminKey).ok('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: webhookId });
    } finally {
      await db.end();
    }
  });

  it('sends deliveries left pending by a stopped service once it is started again', async () => {
    const service = services.at(-1) as RunningService;
    const down = await new Receiver().start();
    const port = down.port;
    dataOf(await createWebhook(new GqlClient(service.url, adminKey), { url: down.url('/restart'), events: ['TRANSACTION_POSTED'] }));
    await down.stop();
    const posted: string[] = [];
    for (let i = 0; i < 5; i++) posted.push(await pay(service));
    await service.stop();
    const back = await new Receiver().start(port);
    try {
      await start();
      await waitUntil(
        'every pending delivery',
        () => posted.every((id) => back.at('/restart').some((r) => r.body.data.transaction.id === id)),
        30_000,
      );
    } finally {
      await back.stop();
    }
  });

  it('two instances share the dispatch: every event delivered, none twice, both sending', async () => {
    // The receiver takes 200 ms an answer, so one instance cannot keep up with the postings (it
    // holds a few of a slow webhook's deliveries at a time and leaves the rest due): the other
    // must claim some. A receiver that answers at once may be kept up with by whichever instance
    // fans out first, every time, and sharing is then neither needed nor promised.
    receiver.answerAfter('/shared', 200);
    const one = services.at(-1) as RunningService;
    const two = await start();
    dataOf(await createWebhook(new GqlClient(one.url, adminKey), { url: receiver.url('/shared'), events: ['TRANSACTION_POSTED'] }));
    const before = [await attemptsOf(one), await attemptsOf(two)];
    const posted: string[] = [];
    for (let round = 0; round < 20; round++) {
      posted.push(...(await Promise.all([pay(one), pay(two), pay(one), pay(two)])));
    }
    await waitUntil('all 80 delivered', () => posted.every((id) => ids('/shared').includes(id)), 30_000);
    expect(ids('/shared')).toHaveLength(80);
    expect(new Set(ids('/shared')).size).toBe(80);
    const after = [await attemptsOf(one), await attemptsOf(two)];
    expect((after[0] as number) - (before[0] as number)).toBeGreaterThan(0);
    expect((after[1] as number) - (before[1] as number)).toBeGreaterThan(0);
  });

  it('a webhook created through one instance is sent the postings made through another right after', async () => {
    // Posting groups build events only while their network has a webhook, judged in the
    // database under the head lock: no instance may go on believing there is none.
    const [one, two] = services.slice(-2) as [RunningService, RunningService];
    const admin = new GqlClient(one.url, adminKey);
    const existing = await admin.ok<{ webhooks: { id: string }[] }>('{ webhooks { id } }');
    for (const { id } of existing.webhooks) await admin.ok('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id });
    await pay(one);
    await pay(two);
    // accountId and description omitted, not null: every account of the network.
    await new GqlClient(two.url, adminKey).ok(
      'mutation($url: String!) { createWebhook(url: $url, events: [TRANSACTION_POSTED]) { secret } }',
      {
        url: receiver.url('/across'),
      },
    );
    const posted = [await pay(one), await pay(two), await pay(one)];
    await waitUntil('the postings of both instances delivered', () => posted.every((id) => ids('/across').includes(id)), 30_000);
    expect(new Set(ids('/across'))).toEqual(new Set(posted));
  });
});
