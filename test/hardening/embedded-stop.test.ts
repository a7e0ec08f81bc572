import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-root';
import { GqlClient } from '../support/graphql';
import { createCurrency, openAccount, registerParty, transfer, verifyLedger } from '../support/ledger';
import { logLines, type RunningService, startService } from '../support/service';

/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, so the service starts its own PostgreSQL
 * under DATA_DIR; in a process group of its own, as a terminal's foreground job.
 */
function startOnEmbedded(dataDir: string, adminKey?: string): Promise<RunningService> {
  const env = { DATABASE_URL: '', DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'info' };
  return startService('', env, adminKey, [], true);
}

describe('a graceful stop on the embedded database (npm start, then Ctrl-C or SIGTERM)', () => {
  // Under the project, as the crash test's: the cluster's files must be reachable by the postgres user it runs as.
  const dataDirs: string[] = [];
  const freshDataDir = () => {
    const dir = join(projectRoot(), '.test-data', `embedded-stop-${process.pid}-${randomBytes(4).toString('hex')}`);
    dataDirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Posts from 8 clients, stops the service with `signal` while they post, and checks the stop and a
   * restart: the database stayed up until the service had finished with it, and every acknowledged
   * transfer is there, once.
   */
  async function stopUnderLoad(signal: (service: RunningService) => void): Promise<void> {
    const dataDir = freshDataDir();
    let service = await startOnEmbedded(dataDir);
    let admin = new GqlClient(service.url, service.adminKey);
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const accounts: string[] = [];
    for (let i = 0; i < 4; i++)
      accounts.push(await openAccount(admin, await registerParty(admin, 'MEMBER', `Member ${i}`), 'HOUR', '1000'));

    const acknowledged = new Map<string, { id: string; from: string; to: string }>();
    const refused: (string | undefined)[] = [];
    let stopped = false;
    const clients = Array.from({ length: 8 }, async (_, client) => {
      for (let n = 0; !stopped; n++) {
        const key = `stop-${client}-${n}`;
        const from = accounts[client % 4] as string;
        const to = accounts[(client + 1) % 4] as string;
        try {
          const result = await transfer(admin, from, to, '1.00', key);
          if (result.data?.transfer.id) acknowledged.set(key, { id: result.data.transfer.id, from, to });
          else refused.push(result.errors?.[0]?.extensions?.code);
        } catch {
          return; // the connection was refused or closed: the instance has stopped
        }
      }
    });
    while (acknowledged.size < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = new Promise<number | null>((resolve) => service.process.once('exit', (code) => resolve(code)));
    signal(service);
    const code = await exited;
    stopped = true;
    await Promise.all(clients);

    const lines = logLines(service.output());
    // The database stayed up until the service had finished with it: no connection of the service lost, nothing unhandled.
    expect(lines.filter((line) => String(line.msg).startsWith('database connection lost'))).toEqual([]);
    expect(lines.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
    expect(lines.filter((line) => line.msg === 'request' && line.outcome === 'aborted')).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('stopped');
    expect(code).toBe(0);
    // A request the stop refused says so with a code a client retries on, never a half-done answer.
    for (const refusal of refused) expect(refusal).toBe('INTERNAL');

    service = await startOnEmbedded(dataDir, service.adminKey);
    admin = new GqlClient(service.url, service.adminKey);
    try {
      // Each client retries its acknowledged transfers with their keys: each comes back as it was, posted once.
      for (const [key, { id, from, to }] of acknowledged) {
        const again = await transfer(admin, from, to, '1.00', key);
        expect([key, again.data?.transfer.id]).toEqual([key, id]);
      }
      expect(await verifyLedger(admin)).toMatchObject({ ok: true });
    } finally {
      await service.stop();
    }
  }

  it('on SIGTERM to the service (a process manager), drains before the database stops, exits 0, and a restart finds every acknowledged transfer', async () => {
    await stopUnderLoad((service) => service.process.kill('SIGTERM'));
  });

  it("on a terminal's Ctrl-C (SIGINT to the whole foreground process group) the same: the database is not in that group", async () => {
    await stopUnderLoad((service) => process.kill(-(service.process.pid as number), 'SIGINT'));
  });
});
