import { randomUUID } from 'node:crypto';
import { connect, createTestDatabase } from '../support/database';
import { GqlClient } from '../support/graphql';
import { postRaw, rawRequest } from '../support/http';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger, transfer, verifyLedger } from '../support/ledger';
import { logLines, startService } from '../support/service';
import { seriesValue } from '../support/metrics';

describe('logs, metrics and health', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let adminKeyId: string;

  beforeAll(async () => {
    ledger = await startLedger({ LOG_LEVEL: 'info' });
    admin = ledger.admin;
    adminKeyId = (await admin.ok('{ me { apiKey { id } } }')).me.apiKey.id;
  });
  afterAll(async () => ledger.stop());

  it('writes one JSON line per request with its request id and API key id, and never the secret, names, handles or memos', async () => {
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const zelda = await admin.ok('mutation { registerParty(kind: MEMBER, name: "Zelda Quartzberg", handle: "@zquartz") { id } }');
    const a = await openAccount(admin, zelda.registerParty.id, 'HOUR');
    const b = await openAccount(admin, await registerParty(admin, 'MEMBER', 'Yusuf Plumtree'), 'HOUR');
    await admin.ok(
      'mutation($a: ID!, $b: ID!) { transfer(from: $a, to: $b, amount: "1", memo: "rent for flat 3B", idempotencyKey: "memo") { id } }',
      { a, b },
    );
    const traced = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), ledger.service.adminKey, {
      'x-request-id': 'trace-42',
    });
    expect(traced.headers.get('x-request-id')).toBe('trace-42');
    const untraced = await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), ledger.service.adminKey, {
      'x-request-id': 'not a sane id; drop table',
    });
    expect(untraced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await postRaw(ledger.service.url, JSON.stringify({ query: '{ me { role } }' }), 'sl_wrong_secret_that_must_not_be_logged');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const output = ledger.service.output();
    for (const secret of [
      ledger.service.adminKey,
      'sl_wrong_secret_that_must_not_be_logged',
      'Zelda',
      'Quartzberg',
      '@zquartz',
      'Yusuf',
      'flat 3B',
    ]) {
      expect([secret, output.includes(secret)]).toEqual([secret, false]);
    }
    const lines = logLines(output);
    for (const line of lines)
      expect(line).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) }));
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests.find((line) => line.reqId === 'trace-42')).toMatchObject({
      apiKeyId: adminKeyId,
      method: 'POST',
      path: '/graphql',
      status: 200,
      operation: 'me',
      outcome: 'ok',
      durationMs: expect.any(Number),
    });
    expect(requests.find((line) => line.operation === 'transfer')).toMatchObject({ apiKeyId: adminKeyId, outcome: 'ok' });
    expect(requests.find((line) => line.outcome === 'UNAUTHENTICATED')).not.toHaveProperty('apiKeyId');
    expect(new Set(requests.map((line) => line.reqId)).size).toBe(requests.length);
  });

  it('logs a refusal as a request outcome, not as an error with a stack', async () => {
    const before = ledger.service.output().length;
    expect(await admin.code('{ account(id: "nope") { id } }')).toBe('VALIDATION_FAILED');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = logLines(ledger.service.output().slice(before));
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(lines.find((line) => line.msg === 'request')).toMatchObject({ operation: 'account', outcome: 'VALIDATION_FAILED' });
  });

  it('serves Prometheus metrics: requests by operation and outcome, latency, postings, retries and the pool', async () => {
    const response = await rawRequest(`${ledger.service.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${ledger.service.adminKey}` },
    });
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^text\/plain/);
    const text = response.text;
    expect(seriesValue(text, 'ledger_http_requests_total{operation="transfer",outcome="ok"}')).toBe(1);
    expect(seriesValue(text, 'ledger_http_requests_total{operation="account",outcome="VALIDATION_FAILED"}')).toBe(1);
    expect(seriesValue(text, 'ledger_http_requests_total{operation="me",outcome="UNAUTHENTICATED"}')).toBe(1);
    expect(seriesValue(text, 'ledger_http_request_duration_seconds_count{operation="transfer"}')).toBe(1);
    expect(seriesValue(text, 'ledger_transactions_posted_total')).toBe(1);
    expect(seriesValue(text, 'ledger_posting_groups_total')).toBeGreaterThanOrEqual(1);
    expect(seriesValue(text, 'ledger_posting_refused_total')).toBe(0);
    expect(seriesValue(text, 'ledger_db_retries_total')).toBe(0);
    expect(seriesValue(text, 'ledger_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    expect(seriesValue(text, 'ledger_db_pool_connections{state="waiting"}')).toBe(0);
    expect(text).toMatch(/^ledger_process_resident_memory_bytes \d+/m);
    // Labels stay a bounded set: an invented path is not echoed into them.
    await rawRequest(`${ledger.service.baseUrl}/${randomUUID()}`);
    const after = (
      await rawRequest(`${ledger.service.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ledger.service.adminKey}` } })
    ).text;
    expect(seriesValue(after, 'ledger_http_requests_total{operation="unmatched",outcome="HTTP_404"}')).toBe(1);
  });

  it('reports readiness with the database and liveness of the process', async () => {
    const ready = await rawRequest(`${ledger.service.baseUrl}/health`);
    expect([ready.status, ready.body]).toEqual([200, { status: 'ok', database: 'up' }]);
    const live = await rawRequest(`${ledger.service.baseUrl}/health/live`);
    expect([live.status, live.body]).toEqual([200, { status: 'ok' }]);
  });

  it('turns /metrics off with METRICS_ENABLED=false', async () => {
    const quiet = await startService(await createTestDatabase({ migrated: true }), { METRICS_ENABLED: 'false' });
    try {
      const response = await rawRequest(`${quiet.baseUrl}/metrics`);
      expect(response.status).toBe(404);
    } finally {
      await quiet.stop();
    }
  });
});

describe('a graceful stop (SIGTERM)', () => {
  it('answers every request it received, posts nothing by halves, exits 0, and a restart finds every acknowledged transfer once', async () => {
    const databaseUrl = await createTestDatabase({ migrated: true });
    let service = await startService(databaseUrl, { LOG_LEVEL: 'info' });
    let admin = new GqlClient(service.url, service.adminKey);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const accounts: string[] = [];
    for (let i = 0; i < 8; i++)
      accounts.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `Member ${i}`), 'HOUR', '1000'));
    interface Sent {
      key: string;
      from: string;
      to: string;
      id?: string;
      code?: string;
    }
    const sent: Sent[] = [];
    const post = async (item: Sent) => {
      const result = await transfer(admin, item.from, item.to, '1.00', item.key);
      item.id = result.data?.transfer.id;
      item.code = result.errors?.[0]?.extensions?.code;
    };
    // 16 clients post one transfer after another until the instance stops answering.
    let stopped = false;
    const clients = Array.from({ length: 16 }, async (_, client) => {
      for (let n = 0; !stopped; n++) {
        const item: Sent = { key: `drain-${client}-${n}`, from: accounts[client % 8] as string, to: accounts[(client + 1) % 8] as string };
        sent.push(item);
        try {
          await post(item);
        } catch {
          return; // no answer: the connection was refused or closed before the request was read
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Requests must be in flight when the signal comes, whatever the scheduling of this process:
    // the ledger head is held locked from outside, so the clients' next transfers wait in a
    // posting group, and it is released only once the instance has logged the signal.
    const holder = await connect(databaseUrl);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM ledger_head FOR UPDATE');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = new Promise<number | null>((resolve) => service.process.once('exit', (code) => resolve(code)));
    service.process.kill('SIGTERM');
    while (!service.output().includes('SIGTERM received')) await new Promise((resolve) => setTimeout(resolve, 20));
    await holder.query('COMMIT');
    await holder.end();
    await Promise.all(clients);
    stopped = true;
    expect(await exited).toBe(0);

    const answered = sent.filter((item) => item.id !== undefined || item.code !== undefined);
    // Whatever got an answer was posted, or refused with a retryable code because the instance was stopping.
    for (const item of answered) expect([item.key, item.id !== undefined || item.code === 'INTERNAL']).toEqual([item.key, true]);
    const lines = logLines(service.output());
    const stopAt = lines.findIndex((line) => typeof line.msg === 'string' && line.msg.startsWith('SIGTERM received'));
    expect(stopAt).toBeGreaterThan(0);
    // Every request the instance had received was answered: none was cut off by the stop.
    expect(lines.filter((line) => line.msg === 'request' && line.outcome === 'aborted')).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('stopped');
    const drained = lines.slice(stopAt).filter((line) => line.msg === 'request' && line.operation === 'transfer').length;

    service = await startService(databaseUrl, {}, service.adminKey);
    admin = new GqlClient(service.url, service.adminKey);
    try {
      for (const item of answered.filter((r) => r.id)) {
        expect((await admin.ok('query($id: ID!) { transaction(id: $id) { id } }', { id: item.id })).transaction).toEqual({ id: item.id });
      }
      // Every client retries with its key: acknowledged transfers come back as they were, the rest post once.
      const acknowledged = new Map(answered.filter((r) => r.id).map((r) => [r.key, r.id]));
      for (const item of sent) {
        item.id = undefined;
        await post(item);
        expect([item.key, item.id]).toEqual([item.key, acknowledged.get(item.key) ?? expect.any(String)]);
      }
      const listed = await admin.ok('{ transactions(first: 500) { edges { node { id } } } }');
      expect(listed.transactions.edges.length).toBe(Math.min(sent.length, 500));
      expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: sent.length });
      // The stop did drain: requests were still being answered after SIGTERM.
      expect(drained).toBeGreaterThan(0);
    } finally {
      await service.stop();
    }
  });
});
