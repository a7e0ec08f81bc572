import { createKey, registerParty, startLedger, type TestLedger } from './support/ledger';
import { GqlClient } from './support/graphql';
import { startService, type RunningService } from './support/service';

describe('API keys across two instances on one database', () => {
  let ledger: TestLedger;
  let second: RunningService;
  beforeAll(async () => {
    ledger = await startLedger();
    second = await startService(ledger.databaseUrl, {}, ledger.service.adminKey);
  });
  afterAll(async () => {
    await second.stop();
    await ledger.stop();
  });

  it('refuses a key on the other instance as soon as it is revoked, though that instance had it cached', async () => {
    const party = await registerParty(ledger.admin, 'MEMBER', 'Ana');
    const created = await ledger.admin.ok('mutation($p: ID) { createApiKey(partyId: $p, role: MEMBER) { secret apiKey { id } } }', {
      p: party,
    });
    const onSecond = new GqlClient(second.url, created.createApiKey.secret);
    for (let i = 0; i < 3; i++) expect((await onSecond.ok('{ me { role } }')).me.role).toBe('MEMBER');

    await ledger.admin.ok('mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }', { id: created.createApiKey.apiKey.id });
    const revokedAt = Date.now();
    let code = await onSecond.code('{ me { role } }').catch(() => 'ACCEPTED');
    while (code === 'ACCEPTED' && Date.now() - revokedAt < 1000) code = await onSecond.code('{ me { role } }').catch(() => 'ACCEPTED');
    expect(code).toBe('UNAUTHENTICATED');
    expect(Date.now() - revokedAt).toBeLessThan(250);
    expect(await ledger.client(created.createApiKey.secret).code('{ me { role } }')).toBe('UNAUTHENTICATED');
  });

  it('accepts a key created on one instance on the other at once', async () => {
    const key = await createKey(ledger.admin, 'AUDITOR');
    expect((await new GqlClient(second.url, key).ok('{ me { role } }')).me.role).toBe('AUDITOR');
  });
});
