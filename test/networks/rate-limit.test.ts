import { startLedger, type TestLedger } from '../support/ledger';

/**
 * RATE_LIMIT_NETWORK_PER_SECOND: one bucket per network for all its keys together, so a busy
 * community runs out of requests without taking another network's.
 */
let ledger: TestLedger;

beforeAll(async () => {
  ledger = await startLedger({ RATE_LIMIT_NETWORK_PER_SECOND: '1', RATE_LIMIT_NETWORK_BURST: '6' });
});

afterAll(async () => {
  await ledger?.stop();
});

it('refuses a network’s keys together once the network’s bucket is empty; other networks go on', async () => {
  const network = (await ledger.admin.ok('mutation { createNetwork(slug: "busy", name: "Busy") { id } }')).createNetwork.id as string;
  const issue = 'mutation($n: ID!) { createApiKey(role: AUDITOR, networkId: $n) { secret } }';
  const first = ledger.client((await ledger.admin.ok(issue, { n: network })).createApiKey.secret as string);
  const second = ledger.client((await ledger.admin.ok(issue, { n: network })).createApiKey.secret as string);
  const codes: (string | undefined)[] = [];
  for (let i = 0; i < 8; i++) {
    const result = await (i % 2 === 0 ? first : second).request('{ me { role } }');
    codes.push(result.errors?.[0]?.extensions?.code);
  }
  // A burst of 6 for both keys together (at most one more refilled in between on a slow machine).
  expect(codes.slice(0, 6)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  expect(codes.slice(6)).toContain('RATE_LIMITED');
  // The default network's bucket is its own: the admin had spent 3 requests of it.
  expect((await ledger.admin.ok('{ me { network { slug } } }')).me.network.slug).toBe('default');
});
