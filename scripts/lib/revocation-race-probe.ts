import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import { NetworkRepository } from '../../src/identity/network.repository';
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Database, createDataSource } from '../../src/database/database';
import { migrate } from '../../src/database/migrator';
import { NotificationHub } from '../../src/database/notification-hub';
import type { ApiKeyRecord } from '../../src/identity/api-key.record';
import { ApiKeyRepository, KEYS_CHANNEL } from '../../src/identity/api-key.repository';
import { ApiKeyService, hashSecret, newSecret } from '../../src/identity/api-key.service';
import { Role } from '../../src/identity/caller';
import { PartyRepository } from '../../src/ledger/parties/party.repository';

/**
 * The in-process half of test/identity/revocation-race.test.ts (a medium test: the key service
 * built over the real database and its NOTIFY listener; run as built JavaScript because Nest's
 * modules load as ES modules). The race between a key's first lookup and its revocation cannot
 * be timed through HTTP, so the repository here lets the revocation commit, and be heard,
 * between reading the key's row and caching it. Prints what two authentications returned.
 */
class RacingRepository extends ApiKeyRepository {
  race: (() => Promise<void>) | undefined;

  override async findByHash(hash: Buffer): Promise<ApiKeyRecord | undefined> {
    const row = await super.findByHash(hash);
    const race = this.race;
    this.race = undefined;
    if (race) await race();
    return row;
  }
}

async function outcome(run: () => unknown): Promise<string> {
  try {
    const caller = (await run()) as { apiKeyId: string };
    return `OK ${caller.apiKeyId}`;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

async function main(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await migrate(client);
  await client.end();
  const source = createDataSource(url, 2, 'revocation-race-probe');
  await source.initialize();
  const db = new Database(source);
  const hub = new NotificationHub(db);
  try {
    const repository = new RacingRepository(db);
    const service = new ApiKeyService(repository, new PartyRepository(db), new NetworkRepository(db), hub);
    const secret = newSecret();
    const key = await repository.insert({
      id: randomUUID(),
      hash: hashSecret(secret),
      role: Role.AUDITOR,
      partyId: null,
      label: 'racing',
      networkId: DEFAULT_NETWORK_ID,
      deploymentAdmin: false,
    });
    const heard = new Promise<void>((resolve) => hub.subscribe(KEYS_CHANNEL, (id) => id === key.id && resolve()));
    const deadline = Date.now() + 10_000;
    while (!hub.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    repository.race = async () => {
      await new ApiKeyRepository(db).revoke(null, key.id);
      await heard;
    };
    const first = await outcome(() => service.authenticate(secret));
    const second = await outcome(() => service.authenticate(secret));
    process.stdout.write(JSON.stringify({ keyId: key.id, connected: hub.connected, first, second }) + '\n');
  } finally {
    await hub.onApplicationShutdown();
    await db.close();
  }
}

main(process.argv[2] ?? '').catch((error: unknown) => {
  process.stderr.write(String(error) + '\n');
  process.exit(1);
});
