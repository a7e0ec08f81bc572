import { createServer, type Server } from 'node:net';
import { createTestDatabase } from '../support/database';
import { startLedger, type TestLedger } from '../support/ledger';
import { runScript } from './run-script';

/**
 * The errors a newcomer meets first each say what to do next: the port is taken, the database
 * cannot be reached, no key or a wrong key, and a seed pointed at a ledger that is not there.
 */
const SERVICE = 'dist/src/main.js';

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

async function unusedPort(): Promise<number> {
  const { server, port } = await listen();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('starting the service', () => {
  test('on a port already taken, it stops at once and says how to pick another port', async () => {
    const { server, port } = await listen();
    try {
      const run = await runScript(SERVICE, {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: await createTestDatabase(),
        NODE_ENV: 'development',
      });
      expect(run.code).toBe(1);
      expect(run.output).toContain(`Port ${port} is already in use`);
      expect(run.output).toContain('PORT=<another port> npm start');
    } finally {
      server.close();
    }
  });

  test('with a database that cannot be reached, it says which (without the password) and what to check', async () => {
    const port = await unusedPort();
    const run = await runScript(SERVICE, {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `postgres://ledger:s3cret@127.0.0.1:${port}/ledger`,
      NODE_ENV: 'development',
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`Cannot reach PostgreSQL at postgres://ledger:***@127.0.0.1:${port}/ledger`);
    expect(run.output).toContain('Check DATABASE_URL, or unset it to use the embedded database');
    expect(run.output).not.toContain('s3cret');
  });
});

describe('API keys', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger();
  });
  afterAll(async () => {
    await ledger?.stop();
  });

  test('a request without a key is told how to send one and where keys come from', async () => {
    const result = await ledger.client().request('{ me { role } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.errors?.[0]?.message).toMatch(/Authorization: Bearer <key>.*createApiKey.*npm start/);
  });

  test('a wrong key is told to send the whole key or ask for a new one', async () => {
    const result = await ledger.client('sl_this-is-not-a-key').request('{ me { role } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.errors?.[0]?.message).toMatch(/send the whole key.*ask a coordinator for a new one/);
  });

  test('the demo seed pointed at a ledger that is not there says so and how to fix it', async () => {
    const port = await unusedPort();
    const run = await runScript('dist/scripts/seed-demo.js', { LEDGER_URL: `http://localhost:${port}/graphql`, ADMIN_API_KEY: 'sl_x' });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`No ledger answers at LEDGER_URL=http://localhost:${port}/graphql`);
    expect(run.output).toContain('npm start');
  });

  test('the demo seed with a wrong admin key says which key to use', async () => {
    const run = await runScript('dist/scripts/seed-demo.js', { LEDGER_URL: ledger.service.url, ADMIN_API_KEY: 'sl_not-the-admin' });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/refused the admin key .*ADMIN_API_KEY/);
  });
});
