import { connect } from '../support/database';
import type { GqlClient } from '../support/graphql';
import {
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  startLedger,
  type TestLedger,
  transfer,
  verifyLedger,
} from '../support/ledger';
import { captureHold, codeOf, confirmExchange, createHold, dataOf, recordExchange, voidHold } from '../timebank/helpers';
import { WsConnection } from '../timebank/ws-client';

/**
 * SPEC B.3: a key acts only in its own network. For every object type, ids of another network
 * are NOT_FOUND (or absent from lists), writes naming them are refused, subscriptions and
 * exports see one network, idempotency keys and currency codes repeat freely, and only
 * deployment admins create networks and keys for other networks.
 */
interface Community {
  readonly admin: GqlClient;
  readonly adminKey: string;
  readonly members: { partyId: string; accountId: string; key: string }[];
  readonly transactionId: string;
  readonly holdId: string;
  readonly exchangeId: string;
  readonly offerId: string;
  readonly requestId: string;
}

let ledger: TestLedger;
let a: Community;
let b: Community;
let bNetworkId: string;

async function community(ledger: TestLedger, adminKey: string, prefix: string): Promise<Community> {
  const admin = ledger.client(adminKey);
  // The same currency code in both networks: codes repeat freely across networks.
  await createCurrency(admin, 'HOUR', 'TIME', 2);
  const members = [];
  for (const name of ['Ana', 'Ben', 'Cara']) {
    const partyId = await registerParty(admin, 'MEMBER', `${prefix} ${name}`);
    const accountId = await openAccount(admin, partyId, 'HOUR', '20.00');
    members.push({ partyId, accountId, key: await createKey(admin, 'MEMBER', partyId) });
  }
  const [ana, ben, cara] = members as [Community['members'][0], Community['members'][0], Community['members'][0]];
  const posted = await transfer(admin, ana.accountId, ben.accountId, '1.00', 'first');
  const transactionId = dataOf(posted).transfer.id;
  const holdId = dataOf(await createHold(ledger.client(ana.key), { from: ana.accountId, to: cara.accountId, amount: '2.00', key: 'h1' }))
    .createHold.id as string;
  const exchangeId = dataOf(
    await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: cara.accountId, hours: '1.00', key: 'x1' }),
  ).recordExchange.id as string;
  const offerId = (
    await admin.ok('mutation($p: ID!) { postOffer(partyId: $p, title: "Bread", category: "food") { id } }', { p: ana.partyId })
  ).postOffer.id as string;
  const requestId = (
    await admin.ok('mutation($p: ID!) { postRequest(partyId: $p, title: "Soup", category: "food") { id } }', { p: ben.partyId })
  ).postRequest.id as string;
  return { admin, adminKey, members, transactionId, holdId, exchangeId, offerId, requestId };
}

beforeAll(async () => {
  ledger = await startLedger();
  const created = await ledger.admin.ok<{ createNetwork: { id: string; slug: string } }>(
    'mutation { createNetwork(slug: "hillside", name: "Hillside Time Bank") { id slug } }',
  );
  bNetworkId = created.createNetwork.id;
  const bAdminKey = (
    await ledger.admin.ok<{ createApiKey: { secret: string } }>(
      'mutation($n: ID!) { createApiKey(role: ADMIN, networkId: $n, label: "hillside coordinator") { secret } }',
      { n: bNetworkId },
    )
  ).createApiKey.secret;
  const aAdminKey = await createKey(ledger.admin, 'ADMIN');
  a = await community(ledger, aAdminKey, 'Riverside');
  b = await community(ledger, bAdminKey, 'Hillside');
});

afterAll(async () => {
  await ledger?.stop();
});

const member = (c: Community, i: number) => {
  const found = c.members[i];
  if (!found) throw new Error(`no member ${i}`);
  return found;
};

describe('networks and deployment admins', () => {
  it('ADMIN_API_KEY is an admin of default and a deployment admin; other admins are not', async () => {
    const me = await ledger.admin.ok('{ me { role deploymentAdmin network { slug } apiKey { deploymentAdmin network { slug } } } }');
    expect(me.me).toEqual({
      role: 'ADMIN',
      deploymentAdmin: true,
      network: { slug: 'default' },
      apiKey: { deploymentAdmin: true, network: { slug: 'default' } },
    });
    expect((await a.admin.ok('{ me { deploymentAdmin network { slug } } }')).me).toEqual({
      deploymentAdmin: false,
      network: { slug: 'default' },
    });
    expect((await b.admin.ok('{ me { deploymentAdmin network { slug name } } }')).me).toEqual({
      deploymentAdmin: false,
      network: { slug: 'hillside', name: 'Hillside Time Bank' },
    });
  });

  it('lists networks and creates them for deployment admins only', async () => {
    const list = await ledger.admin.ok<{ networks: { slug: string }[] }>('{ networks { slug } }');
    expect(list.networks.map((n) => n.slug)).toEqual(['default', 'hillside']);
    expect(await a.admin.code('{ networks { slug } }')).toBe('FORBIDDEN');
    expect(await b.admin.code('mutation { createNetwork(slug: "mine", name: "Mine") { id } }')).toBe('FORBIDDEN');
    expect(await ledger.admin.code('mutation { createNetwork(slug: "hillside", name: "Again") { id } }')).toBe('VALIDATION_FAILED');
    expect(await ledger.admin.code('mutation { createNetwork(slug: "Not A Slug", name: "x") { id } }')).toBe('VALIDATION_FAILED');
  });

  it('creates keys in another network for deployment admins only; another network is NOT_FOUND to plain admins', async () => {
    const q = 'mutation($n: ID!) { createApiKey(role: AUDITOR, networkId: $n) { apiKey { network { slug } } } }';
    expect((await ledger.admin.ok(q, { n: bNetworkId })).createApiKey.apiKey.network.slug).toBe('hillside');
    expect(await a.admin.code(q, { n: bNetworkId })).toBe('NOT_FOUND');
    const bOwn = await b.admin.ok('{ me { network { id } } }');
    expect((await b.admin.ok(q, { n: bOwn.me.network.id })).createApiKey.apiKey.network.slug).toBe('hillside');
  });

  it('only a deployment admin makes another, and only of role ADMIN', async () => {
    const q = 'mutation($r: Role!) { createApiKey(role: $r, deploymentAdmin: true) { secret } }';
    expect(await a.admin.code(q, { r: 'ADMIN' })).toBe('FORBIDDEN');
    expect(await ledger.admin.code(q, { r: 'AUDITOR' })).toBe('VALIDATION_FAILED');
    const secret = (await ledger.admin.ok(q, { r: 'ADMIN' })).createApiKey.secret as string;
    const second = ledger.client(secret);
    expect((await second.ok('{ me { deploymentAdmin } }')).me.deploymentAdmin).toBe(true);
    expect((await second.ok('{ networks { slug } }')).networks).toHaveLength(2);
  });

  it('revokes: a plain admin only its own network’s keys, a deployment admin any key', async () => {
    const mkKey = 'mutation { createApiKey(role: AUDITOR) { apiKey { id } secret } }';
    const bKey = (await b.admin.ok(mkKey)).createApiKey;
    const revoke = 'mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }';
    expect(await a.admin.code(revoke, { id: bKey.apiKey.id })).toBe('NOT_FOUND');
    expect((await ledger.client(bKey.secret).ok('{ me { role } }')).me.role).toBe('AUDITOR');
    expect((await ledger.admin.ok(revoke, { id: bKey.apiKey.id })).revokeApiKey.revoked).toBe(true);
    expect(await ledger.client(bKey.secret).code('{ me { role } }')).toBe('UNAUTHENTICATED');
  });
});

describe('each network has its own sequence and chain', () => {
  it('numbers each network from 1', async () => {
    const first = async (c: Community) =>
      (await c.admin.ok('query($id: ID!) { transaction(id: $id) { sequence } }', { id: c.transactionId })).transaction.sequence;
    expect(await first(b)).toBe('1');
    expect(await first(a)).toBe('1');
  });

  it('verifies each network on its own', async () => {
    const counts = async (c: Community) =>
      (await c.admin.ok('{ transactions(first: 100) { edges { node { id } } } }')).transactions.edges.length;
    expect(await verifyLedger(a.admin)).toMatchObject({ ok: true, transactionsChecked: await counts(a) });
    expect(await verifyLedger(b.admin)).toMatchObject({ ok: true, transactionsChecked: await counts(b) });
  });
});

describe('reads: ids of another network are not found', () => {
  const byId: [string, (c: Community) => string, string][] = [
    ['account', (c) => member(c, 0).accountId, 'account(id: $id) { id }'],
    ['party', (c) => member(c, 0).partyId, 'party(id: $id) { id }'],
    ['transaction', (c) => c.transactionId, 'transaction(id: $id) { id }'],
    ['hold', (c) => c.holdId, 'hold(id: $id) { id }'],
    ['exchange', (c) => c.exchangeId, 'exchange(id: $id) { id }'],
  ];
  it.each(byId)('%s', async (_name, idOf, selection) => {
    const query = `query($id: ID!) { found: ${selection} }`;
    expect((await a.admin.ok(query, { id: idOf(a) })).found).not.toBeNull();
    expect((await a.admin.ok(query, { id: idOf(b) })).found).toBeNull();
    expect((await b.admin.ok(query, { id: idOf(a) })).found).toBeNull();
  });

  it('lists hold only the caller’s network', async () => {
    const lists = async (c: Community) =>
      c.admin.ok(`{ accounts(first: 100) { edges { node { id } } } parties(first: 100) { edges { node { id name } } }
                    transactions(first: 100) { edges { node { id } } } offers(first: 100) { edges { node { id } } }
                    requests(first: 100) { edges { node { id } } } currencies { code } }`);
    const [la, lb] = [await lists(a), await lists(b)];
    const ids = (l: { edges: { node: { id: string } }[] }) => l.edges.map((e) => e.node.id);
    for (const list of ['accounts', 'parties', 'transactions', 'offers', 'requests']) {
      expect(ids(la[list]).filter((id) => ids(lb[list]).includes(id))).toEqual([]);
    }
    expect(la.parties.edges.every((e: { node: { name: string } }) => e.node.name.startsWith('Riverside'))).toBe(true);
    expect(lb.parties.edges.every((e: { node: { name: string } }) => e.node.name.startsWith('Hillside'))).toBe(true);
    expect(ids(la.offers)).toEqual([a.offerId]);
    expect(la.currencies).toEqual([{ code: 'HOUR' }]);
    expect(lb.currencies).toEqual([{ code: 'HOUR' }]);
  });

  it('lists of another network’s account are NOT_FOUND', async () => {
    const id = member(b, 0).accountId;
    expect(await a.admin.code('query($id: ID!) { holds(accountId: $id) { edges { node { id } } } }', { id })).toBe('NOT_FOUND');
    expect(await a.admin.code('query($id: ID!) { exchanges(accountId: $id) { edges { node { id } } } }', { id })).toBe('NOT_FOUND');
    expect(await a.admin.code('query($id: ID!) { transactions(accountId: $id) { edges { node { id } } } }', { id })).toBe('NOT_FOUND');
    expect(await a.admin.code('query($id: ID!) { statement(accountId: $id) { closingBalance } }', { id })).toBe('NOT_FOUND');
  });

  it('trial balances cover the caller’s network only', async () => {
    const lines = async (c: Community) =>
      (await c.admin.ok('{ trialBalance(currency: "HOUR") { total lines { account { id } } } }')).trialBalance;
    const [ta, tb] = [await lines(a), await lines(b)];
    const ids = (t: { lines: { account: { id: string } }[] }) => t.lines.map((l) => l.account.id);
    // Lines are the accounts with postings: Ana and Ben of each network paid and were paid.
    expect(ids(ta)).toEqual(expect.arrayContaining([member(a, 0).accountId, member(a, 1).accountId]));
    expect(ids(tb)).toEqual(expect.arrayContaining([member(b, 0).accountId, member(b, 1).accountId]));
    expect(ids(ta).every((id) => a.members.some((m) => m.accountId === id))).toBe(true);
    expect(ids(tb).every((id) => b.members.some((m) => m.accountId === id))).toBe(true);
    expect(ta.total).toBe('0.00');
  });
});

describe('writes naming another network’s rows are NOT_FOUND and change nothing', () => {
  it('transfers, reversals, holds, exchanges, accounts, keys, listings', async () => {
    const before = await b.admin.ok('{ accounts(first: 100) { edges { node { id posted pendingDebits pendingCredits } } } }');
    const [ana, bAna, bBen] = [member(a, 0), member(b, 0), member(b, 1)];
    expect(codeOf(await transfer(a.admin, ana.accountId, bAna.accountId, '1.00', 'cross'))).toBe('NOT_FOUND');
    expect(codeOf(await transfer(a.admin, bAna.accountId, bBen.accountId, '1.00', 'inside-b'))).toBe('NOT_FOUND');
    const reverse = 'mutation($id: ID!) { reverseTransaction(id: $id, reason: "x", idempotencyKey: "r") { id } }';
    expect(await a.admin.code(reverse, { id: b.transactionId })).toBe('NOT_FOUND');
    expect(codeOf(await captureHold(a.admin, b.holdId))).toBe('NOT_FOUND');
    expect(codeOf(await voidHold(a.admin, b.holdId))).toBe('NOT_FOUND');
    expect(codeOf(await confirmExchange(a.admin, b.exchangeId))).toBe('NOT_FOUND');
    expect(codeOf(await createHold(a.admin, { from: bAna.accountId, to: bBen.accountId, amount: '1.00', key: 'cross-hold' }))).toBe(
      'NOT_FOUND',
    );
    expect(
      codeOf(await recordExchange(a.admin, { provider: bAna.accountId, receiver: bBen.accountId, hours: '1.00', key: 'cross-x' })),
    ).toBe('NOT_FOUND');
    expect(await a.admin.code('mutation($p: ID!) { openAccount(partyId: $p, currency: "HOUR") { id } }', { p: bAna.partyId })).toBe(
      'NOT_FOUND',
    );
    expect(await a.admin.code('mutation($p: ID!) { createApiKey(role: MEMBER, partyId: $p) { secret } }', { p: bAna.partyId })).toBe(
      'NOT_FOUND',
    );
    expect(await a.admin.code('mutation($id: ID!) { freezeAccount(accountId: $id) { id } }', { id: bAna.accountId })).toBe('NOT_FOUND');
    expect(await a.admin.code('mutation($id: ID!) { closeOffer(id: $id) { id } }', { id: b.offerId })).toBe('NOT_FOUND');
    expect(
      await a.admin.code('mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }', {
        o: bAna.partyId,
        m: bBen.partyId,
      }),
    ).toBe('NOT_FOUND');
    const after = await b.admin.ok('{ accounts(first: 100) { edges { node { id posted pendingDebits pendingCredits } } } }');
    expect(after).toEqual(before);
    expect(await verifyLedger(b.admin)).toMatchObject({ ok: true });
  });

  it('a member key cannot reach another network either', async () => {
    const key = ledger.client(member(a, 0).key);
    expect(codeOf(await transfer(key, member(a, 0).accountId, member(b, 1).accountId, '1.00', 'm-cross'))).toBe('NOT_FOUND');
    expect((await key.ok('query($id: ID!) { party(id: $id) { id } }', { id: member(b, 1).partyId })).party).toBeNull();
  });
});

describe('idempotency keys are per network', () => {
  it('the same key in two networks posts twice, once in each', async () => {
    const one = dataOf(await transfer(a.admin, member(a, 1).accountId, member(a, 2).accountId, '0.50', 'same-key')).transfer;
    const two = dataOf(await transfer(b.admin, member(b, 1).accountId, member(b, 2).accountId, '0.50', 'same-key')).transfer;
    expect(one.id).not.toBe(two.id);
    const again = dataOf(await transfer(b.admin, member(b, 1).accountId, member(b, 2).accountId, '0.50', 'same-key')).transfer;
    expect(again.id).toBe(two.id);
  });
});

describe('subscriptions and exports see one network', () => {
  it('a subscription to another network’s account is NOT_FOUND; one to its own sees its own network only', async () => {
    const ws = await WsConnection.open(ledger.service.url, { authorization: `Bearer ${a.adminKey}` });
    try {
      const query = 'subscription($id: ID!) { transactionPosted(accountId: $id) { id sequence } }';
      expect(await ws.subscribe(query, { id: member(b, 2).accountId }).errorCode()).toBe('NOT_FOUND');
      const own = ws.subscribe(query, { id: member(a, 2).accountId });
      // Registered once a transaction posted after subscribing reaches it.
      const mine: string[] = [];
      for (let i = 0; own.events().length === 0 && i < 50; i++) {
        // Traffic in the other network first each time: it must never arrive here.
        dataOf(await transfer(b.admin, member(b, 0).accountId, member(b, 2).accountId, '0.01', `sub-b-${i}`));
        mine.push(dataOf(await transfer(a.admin, member(a, 0).accountId, member(a, 2).accountId, '0.01', `sub-a-${i}`)).transfer.id);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const [event] = await own.waitForEvents(1);
      expect(mine).toContain(event.transactionPosted.id);
      const bIds = (await b.admin.ok('{ transactions(first: 200) { edges { node { id } } } }')).transactions.edges.map(
        (e: { node: { id: string } }) => e.node.id,
      );
      expect(own.events().filter((e) => bIds.includes(e.transactionPosted.id))).toEqual([]);
    } finally {
      await ws.close();
    }
  });

  it('an export holds the caller’s network’s transactions only', async () => {
    const exported = async (c: Community) => (await c.admin.ok('{ exportJournal(currency: "HOUR", format: CSV) }')).exportJournal as string;
    const [ea, eb] = [await exported(a), await exported(b)];
    expect(ea).toContain(a.transactionId);
    expect(ea).not.toContain(b.transactionId);
    expect(eb).toContain(b.transactionId);
    expect(eb).not.toContain(a.transactionId);
    const response = await fetch(`${ledger.service.baseUrl}/exports/journal?currency=HOUR&format=CSV`, {
      headers: { authorization: `Bearer ${b.adminKey}` },
    });
    const streamed = await response.text();
    expect(streamed).toContain(b.transactionId);
    expect(streamed).not.toContain(a.transactionId);
  });
});

describe('the database keeps rows of two networks apart', () => {
  it('refuses a posting that names an account of another network', async () => {
    const db = await connect(ledger.databaseUrl);
    try {
      const failed = await db
        .query(
          `INSERT INTO postings (network_id, transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
           SELECT t.network_id, t.id, 99, $2, 1, 1, t.sequence FROM transactions t WHERE t.id = $1`,
          [a.transactionId, member(b, 0).accountId],
        )
        .then(
          () => 'inserted',
          (error: { code?: string }) => error.code,
        );
      expect(failed).toBe('23503');
    } finally {
      await db.end();
    }
  });

  /** Runs one statement and answers 'done' or its SQLSTATE and message. */
  async function outcome(sql: string, params: unknown[]): Promise<string> {
    const db = await connect(ledger.databaseUrl);
    try {
      return await db.query(sql, params).then(
        () => 'done',
        (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
      );
    } finally {
      await db.end();
    }
  }

  it('refuses a posting that names a transaction of another network, checked once for the whole statement', async () => {
    // Two rows in one statement, the second naming b's transaction: the statement's check finds it.
    const failed = await outcome(
      `INSERT INTO postings (network_id, transaction_id, idx, account_id, amount_minor, balance_after_minor, sequence)
       SELECT t.network_id, x.id, 90 + x.n, $3, 1, 1, t.sequence
         FROM transactions t, (VALUES ($1::uuid, 0), ($2::uuid, 1)) AS x(id, n) WHERE t.id = $1`,
      [a.transactionId, b.transactionId, member(a, 0).accountId],
    );
    expect(failed).toMatch(
      new RegExp(`^23503: a posting names transaction ${b.transactionId}, which network [0-9a-f-]{36} does not have$`),
    );
  });

  it('refuses a transaction that names an API key of another network', async () => {
    const bKeyId = (await b.admin.ok<{ me: { apiKey: { id: string } } }>('{ me { apiKey { id } } }')).me.apiKey.id;
    const failed = await outcome(
      `INSERT INTO transactions (network_id, id, sequence, kind, api_key_id, posted_at, previous_hash, hash, hash_version)
       SELECT network_id, gen_random_uuid(), sequence + 1000000, 'TRANSFER', $2, posted_at, hash, hash, 2 FROM transactions WHERE id = $1`,
      [a.transactionId, bKeyId],
    );
    expect(failed).toMatch(new RegExp(`^23503: a transaction names API key ${bKeyId}, which network [0-9a-f-]{36} does not have$`));
  });

  it('refuses a transaction that reverses a transaction of another network, checked once for the whole statement', async () => {
    // Two rows in one statement: the first reverses a's own transaction, the second b's.
    const failed = await outcome(
      `INSERT INTO transactions (network_id, id, sequence, kind, reverses_id, posted_at, previous_hash, hash, hash_version)
       SELECT t.network_id, gen_random_uuid(), t.sequence + 1000000 + x.n, 'REVERSAL', x.id, t.posted_at, t.hash, t.hash, 2
         FROM transactions t, (VALUES ($1::uuid, 0), ($2::uuid, 1)) AS x(id, n) WHERE t.id = $1`,
      [a.transactionId, b.transactionId],
    );
    expect(failed).toMatch(
      new RegExp(`^23503: a transaction reverses transaction ${b.transactionId}, which network [0-9a-f-]{36} does not have$`),
    );
  });

  it('keeps an account with postings from being deleted or re-keyed', async () => {
    const accountId = member(a, 0).accountId;
    // The message says which rule refused it (other tables' foreign keys would refuse it later with theirs).
    const refusal = `23503: account ${accountId} has postings: it is neither deleted nor re-keyed`;
    expect(await outcome('DELETE FROM accounts WHERE id = $1', [accountId])).toBe(refusal);
    expect(await outcome('UPDATE accounts SET id = gen_random_uuid() WHERE id = $1', [accountId])).toBe(refusal);
  });
});
