import { createCurrency, createKey, openAccount, registerParty, startLedger, transfer, type TestLedger } from '../support/ledger';
import { startService, type RunningService } from '../support/service';
import { GqlClient } from '../support/graphql';
import { addMember, codeOf, dataOf, newMember, setUpHours, waitFor, type Member } from '../timebank/helpers';
import { createWebhook, deliveries, waitUntil } from './helpers';
import { Receiver } from './receiver';
import { checkTarget, guardedLookup, isPrivateAddress, publicAddresses } from '../../src/webhooks/ssrf';

describe('webhook scoping: only events the creating key may read', () => {
  let ledger: TestLedger;
  let receiver: Receiver;
  let ana: Member;
  let ben: Member;
  let coop: Member;
  let dave: Member;
  let n = 0;

  async function pay(from: Member, to: Member): Promise<string> {
    n++;
    return dataOf(await transfer(ledger.client(from.key), from.accountId, to.accountId, '0.10', `scope-${n}`)).transfer.id;
  }

  beforeAll(async () => {
    receiver = await new Receiver().start();
    ledger = await startLedger({ WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_MIN_MS: '200' });
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '100' });
    ben = await newMember(ledger.admin, 'Ben', { creditLimit: '100' });
    dave = await newMember(ledger.admin, 'Dave', { creditLimit: '100' });
    coop = await newMember(ledger.admin, 'Coop', { kind: 'COOPERATIVE', role: 'TREASURER', creditLimit: '100' });
    await addMember(ledger.admin, coop.partyId, ana.partyId);
  });
  afterAll(async () => {
    await ledger.stop();
    await receiver.stop();
  });

  it('sends a member its own events, a treasurer its organisation’s and members’, an admin all, an account webhook one account’s', async () => {
    const hook = async (key: string, path: string, accountId?: string) =>
      dataOf(
        await createWebhook(ledger.client(key), { url: receiver.url(path), events: ['TRANSACTION_POSTED'], accountId: accountId ?? null }),
      ).createWebhook.webhook.id;
    await hook(ben.key, '/ben');
    await hook(coop.key, '/coop');
    await hook(ledger.service.adminKey, '/admin');
    await hook(ledger.service.adminKey, '/dave-only', dave.accountId);
    const anaToBen = await pay(ana, ben);
    const daveToCoop = await pay(dave, coop);
    const daveToAna = await pay(dave, ana);
    await waitUntil('the admin’s three deliveries', () => receiver.at('/admin').length >= 3);
    // Every other webhook's deliveries were made in the same fan-out rounds; give stragglers a moment via a marker.
    const marker = await pay(ben, dave);
    await waitUntil('the marker', () => receiver.at('/admin').some((r) => r.body.data.transaction.id === marker));
    await waitUntil('ben’s marker', () => receiver.at('/ben').some((r) => r.body.data.transaction.id === marker));
    await waitUntil('dave’s marker', () => receiver.at('/dave-only').some((r) => r.body.data.transaction.id === marker));
    const ids = (path: string) => new Set(receiver.at(path).map((r) => r.body.data.transaction.id));
    expect(ids('/ben')).toEqual(new Set([anaToBen, marker]));
    expect(ids('/coop')).toEqual(new Set([anaToBen, daveToCoop, daveToAna]));
    expect(ids('/admin')).toEqual(new Set([anaToBen, daveToCoop, daveToAna, marker]));
    expect(ids('/dave-only')).toEqual(new Set([daveToCoop, daveToAna, marker]));
  });

  it('refuses a webhook on an account the key may not read, and hides other keys’ webhooks', async () => {
    const refused = await createWebhook(ledger.client(ben.key), {
      url: receiver.url('/x'),
      events: ['HOLD_CREATED'],
      accountId: ana.accountId,
    });
    expect(codeOf(refused)).toBe('FORBIDDEN');
    const anasHook = dataOf(await createWebhook(ledger.client(ana.key), { url: receiver.url('/ana'), events: ['HOLD_CREATED'] }))
      .createWebhook.webhook.id;
    const del = await ledger.client(ben.key).request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: anasHook });
    expect(codeOf(del)).toBe('NOT_FOUND');
    const listed = await ledger.client(ben.key).request('query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { id } } } }', {
      id: anasHook,
    });
    expect(codeOf(listed)).toBe('NOT_FOUND');
    expect(
      (await ledger.client(ben.key).ok<{ webhooks: { id: string }[] }>('{ webhooks { id } }')).webhooks.map((w) => w.id),
    ).not.toContain(anasHook);
  });

  it('sends an integration key only events in its credit union’s currency', async () => {
    const union = await registerParty(ledger.admin, 'CREDIT_UNION', 'Union');
    await createCurrency(ledger.admin, 'MKE', 'MONEY', 2, union);
    const integrationKey = await createKey(ledger.admin, 'INTEGRATION', union);
    const member = await openAccount(ledger.admin, ben.partyId, 'MKE');
    await createWebhook(ledger.client(integrationKey), { url: receiver.url('/union'), events: ['TRANSACTION_POSTED'] });
    const deposit = await ledger
      .client(integrationKey)
      .ok<{ recordDeposit: { id: string } }>(
        'mutation($a: ID!) { recordDeposit(accountId: $a, amount: "5.00", externalRef: "d1", idempotencyKey: "d1") { id } }',
        { a: member },
      );
    const hours = await pay(ana, ben);
    await waitUntil('the deposit', () => receiver.at('/union').length >= 1);
    await waitUntil('the admin’s delivery of the hours', () => receiver.at('/admin').some((r) => r.body.data.transaction.id === hours));
    expect(receiver.at('/union').map((r) => r.body.data.transaction.id)).toEqual([deposit.recordDeposit.id]);
    expect(receiver.at('/union')[0]?.body.data.transaction.postings.map((p: { currency: string }) => p.currency)).toEqual(['MKE', 'MKE']);
  });

  it('stops the deliveries of a webhook whose creating key is revoked', async () => {
    const keyData = await ledger.admin.ok<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
      'mutation($p: ID!) { createApiKey(role: MEMBER, partyId: $p) { apiKey { id } secret } }',
      { p: dave.partyId },
    );
    const hookId = dataOf(
      await createWebhook(new GqlClient(ledger.service.url, keyData.createApiKey.secret), {
        url: receiver.url('/revoked'),
        events: ['TRANSACTION_POSTED'],
      }),
    ).createWebhook.webhook.id;
    await pay(dave, ben);
    await waitUntil('the first delivery', () => receiver.at('/revoked').length === 1);
    await ledger.admin.ok('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: keyData.createApiKey.apiKey.id });
    const after = await pay(dave, ben);
    await waitUntil('the admin’s delivery', () => receiver.at('/admin').some((r) => r.body.data.transaction.id === after));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.at('/revoked')).toHaveLength(1);
    expect((await deliveries(ledger.admin, hookId)).length).toBe(1);
  });
});

describe('SSRF: where a webhook may point', () => {
  it('classifies loopback, private, link-local, metadata and mapped addresses as private, and public ones as public', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
    ]) {
      expect([address, isPrivateAddress(address)]).toEqual([address, true]);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])
      expect([address, isPrivateAddress(address)]).toEqual([address, false]);
  });

  it('refuses a host name when any of its addresses is private, at registration and in the connection’s own lookup (DNS rebinding)', async () => {
    await expect(checkTarget('http://mixed.example/', false, () => Promise.resolve(['93.184.216.34', '10.0.0.5']))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    let answers = [['93.184.216.34'], ['127.0.0.1']];
    const rebinding = () => Promise.resolve(answers.shift() ?? []);
    await expect(checkTarget('https://rebind.example/', false, rebinding)).resolves.toBeInstanceOf(URL);
    const lookup = guardedLookup(rebinding);
    const error = await new Promise<Error | null>((resolve) => lookup('rebind.example', {}, (e) => resolve(e)));
    expect(error?.message).toMatch(/127\.0\.0\.1/);
    answers = [['93.184.216.34']];
    await expect(publicAddresses('ok.example', rebinding)).resolves.toEqual(['93.184.216.34']);
  });

  describe('with private receivers refused (production default)', () => {
    let ledger: TestLedger;
    let receiver: Receiver;
    let second: RunningService | null = null;

    beforeAll(async () => {
      receiver = await new Receiver().start();
      ledger = await startLedger({ WEBHOOK_POLL_MS: '50' });
      await setUpHours(ledger.admin);
    });
    afterAll(async () => {
      await second?.stop();
      await ledger.stop();
      await receiver.stop();
    });

    it('refuses non-http schemes and loopback, private, link-local and metadata URLs at registration', async () => {
      await ledger.stop();
      second = await startService(ledger.databaseUrl, { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_POLL_MS: '50' }, ledger.service.adminKey);
      const admin = new GqlClient(second.url, second.adminKey);
      for (const url of [
        'ftp://example.com/',
        'file:///etc/passwd',
        'http://user:pw@93.184.216.34/',
        'http://127.0.0.1:8080/',
        'http://localhost/',
        'http://[::1]/',
        'http://[::ffff:127.0.0.1]/',
        'http://10.0.0.1/',
        'http://192.168.0.10/',
        'http://169.254.169.254/latest/meta-data/',
        'http://[fd00:ec2::254]/',
        'http://0.0.0.0/',
      ]) {
        const result = await createWebhook(admin, { url, events: ['TRANSACTION_POSTED'] });
        expect([url, codeOf(result)]).toEqual([url, 'VALIDATION_FAILED']);
      }
      const accepted = await createWebhook(admin, { url: 'https://93.184.216.34/hook', events: ['TRANSACTION_POSTED'] });
      dataOf(
        await admin.request('mutation($id: ID!) { deleteWebhook(id: $id) { id } }', { id: dataOf(accepted).createWebhook.webhook.id }),
      );
    });

    it('checks again at connection: a webhook registered while private receivers were allowed is not sent to them', async () => {
      await second?.stop();
      second = await startService(ledger.databaseUrl, { WEBHOOK_POLL_MS: '50' }, ledger.service.adminKey);
      let admin = new GqlClient(second.url, second.adminKey);
      const ana = await newMember(admin, 'Ana', { creditLimit: '10' });
      const ben = await newMember(admin, 'Ben');
      const hookId = dataOf(await createWebhook(admin, { url: receiver.url('/private'), events: ['TRANSACTION_POSTED'] })).createWebhook
        .webhook.id;
      await second.stop();
      second = await startService(ledger.databaseUrl, { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_POLL_MS: '50' }, ledger.service.adminKey);
      admin = new GqlClient(second.url, second.adminKey);
      dataOf(await transfer(new GqlClient(second.url, ana.key), ana.accountId, ben.accountId, '1.00', 'to-private'));
      const [delivery] = await waitFor('a refused attempt', async () => {
        const list = await deliveries(admin, hookId);
        return list[0]?.lastError ? list : undefined;
      });
      expect(delivery?.lastError).toMatch(/loopback, private or link-local/);
      expect(delivery?.status).toBe('PENDING');
      expect(receiver.at('/private')).toEqual([]);
    });
  });
});
