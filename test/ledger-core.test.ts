import type { GqlClient } from './support/graphql';
import {
  balances,
  createCurrency,
  createKey,
  openAccount,
  registerParty,
  snapshot,
  startLedger,
  type TestLedger,
  verifyLedger,
} from './support/ledger';

const TRANSFER = `mutation($from: ID!, $to: ID!, $amount: Amount!, $key: String!, $memo: String) {
  transfer(from: $from, to: $to, amount: $amount, idempotencyKey: $key, memo: $memo) { id sequence kind memo postings { amount account { id } } } }`;
const POST = `mutation($postings: [PostingInput!]!, $kind: TransactionKind!, $key: String!, $metadata: JSON, $ref: String) {
  postTransaction(postings: $postings, kind: $kind, idempotencyKey: $key, metadata: $metadata, externalRef: $ref) { id kind metadata externalRef postings { amount } } }`;
const REVERSE = `mutation($id: ID!, $key: String!) { reverseTransaction(id: $id, reason: "entered twice", idempotencyKey: $key) {
  id kind memo reverses { id } postings { amount account { id } } } }`;

describe('ledger core over HTTP', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let ana: string;
  let ben: string;
  let cu: string;
  let hourA: string;
  let hourB: string;
  let hourC: string;
  let mkeA: string;

  /** Runs a request that must be refused with `code` and leave every balance and transaction as it was. */
  async function refusedWithoutChange(client: GqlClient, code: string, query: string, variables: Record<string, unknown>): Promise<void> {
    const before = await snapshot(admin);
    expect(await client.code(query, variables)).toBe(code);
    expect(await snapshot(admin)).toBe(before);
  }

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    ana = await registerParty(admin, 'MEMBER', 'Ana');
    ben = await registerParty(admin, 'MEMBER', 'Ben');
    cu = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    await createCurrency(admin, 'MKE', 'MONEY', 2, cu);
    hourA = await openAccount(admin, ana, 'HOUR');
    hourB = await openAccount(admin, ben, 'HOUR');
    hourC = await openAccount(admin, ben, 'HOUR', '0');
    mkeA = await openAccount(admin, ana, 'MKE');
  });
  afterAll(async () => ledger.stop());

  it('gives TIME accounts the deployment default credit limit and MONEY accounts none', async () => {
    expect((await balances(admin, hourA)).creditLimit).toBe('10.00');
    expect((await balances(admin, mkeA)).creditLimit).toBe('0.00');
  });

  it('posts a transfer with amounts written in the currency scale and a ledger-wide sequence', async () => {
    const data = await admin.ok(TRANSFER, { from: hourA, to: hourB, amount: '1.5', key: 't-1', memo: 'garden help' });
    expect(data.transfer.kind).toBe('TRANSFER');
    expect(data.transfer.memo).toBe('garden help');
    expect(data.transfer.postings).toEqual([
      { amount: '-1.50', account: { id: hourA } },
      { amount: '1.50', account: { id: hourB } },
    ]);
    expect(await balances(admin, hourA)).toMatchObject({ posted: '-1.50', available: '-1.50', pendingDebits: '0.00' });
  });

  it('returns the original transaction for a repeated idempotency key and posts nothing again', async () => {
    const first = await admin.ok(TRANSFER, { from: hourB, to: hourA, amount: '0.25', key: 'repeat-me' });
    const before = await snapshot(admin);
    const again = await admin.ok(TRANSFER, { from: hourB, to: hourA, amount: '0.250'.slice(0, 4), key: 'repeat-me' });
    expect(again.transfer.id).toBe(first.transfer.id);
    expect(await snapshot(admin)).toBe(before);
  });

  it('refuses the same idempotency key with different input (IDEMPOTENCY_CONFLICT)', async () => {
    await admin.ok(TRANSFER, { from: hourB, to: hourA, amount: '0.10', key: 'conflict-me' });
    await refusedWithoutChange(admin, 'IDEMPOTENCY_CONFLICT', TRANSFER, { from: hourB, to: hourA, amount: '0.20', key: 'conflict-me' });
  });

  it('refuses amounts that are JSON numbers, exponents, excess decimals, zero or negative (INVALID_AMOUNT)', async () => {
    for (const amount of [1.5, 2, '1e2', '1.234', '0', '0.00', '-1.00', 'abc', '', ' 1']) {
      await refusedWithoutChange(admin, 'INVALID_AMOUNT', TRANSFER, { from: hourA, to: hourB, amount, key: `bad-${String(amount)}` });
    }
    const literal = `mutation { transfer(from: "${hourA}", to: "${hourB}", amount: 1.5, idempotencyKey: "lit") { id } }`;
    await refusedWithoutChange(admin, 'INVALID_AMOUNT', literal, {});
  });

  it('refuses a posting larger than 10^15 minor units (INVALID_AMOUNT)', async () => {
    await refusedWithoutChange(admin, 'INVALID_AMOUNT', POST, {
      kind: 'ADJUSTMENT',
      key: 'huge',
      postings: [
        { accountId: hourA, amount: '-10000000000000.01' },
        { accountId: hourB, amount: '10000000000000.01' },
      ],
    });
  });

  it('refuses a transfer between accounts of different currencies (CURRENCY_MISMATCH)', async () => {
    await refusedWithoutChange(admin, 'CURRENCY_MISMATCH', TRANSFER, { from: hourA, to: mkeA, amount: '1.00', key: 'mismatch' });
  });

  it('refuses postings that do not sum to zero per currency (UNBALANCED)', async () => {
    await refusedWithoutChange(admin, 'UNBALANCED', POST, {
      kind: 'ADJUSTMENT',
      key: 'unbalanced',
      postings: [
        { accountId: hourA, amount: '-1.00' },
        { accountId: hourB, amount: '0.99' },
      ],
    });
  });

  it('refuses a zero posting and a transaction of one posting', async () => {
    await refusedWithoutChange(admin, 'INVALID_AMOUNT', POST, {
      kind: 'ADJUSTMENT',
      key: 'zero-posting',
      postings: [
        { accountId: hourA, amount: '0' },
        { accountId: hourB, amount: '0' },
      ],
    });
    await refusedWithoutChange(admin, 'VALIDATION_FAILED', POST, {
      kind: 'ADJUSTMENT',
      key: 'one',
      postings: [{ accountId: hourA, amount: '1' }],
    });
  });

  it('posts a balanced multi-posting transaction with metadata and an external reference', async () => {
    const data = await admin.ok(POST, {
      kind: 'ADJUSTMENT',
      key: 'three-way',
      metadata: { reason: 'opening balances', batch: [1, 2] },
      ref: 'paper-ledger-2026',
      postings: [
        { accountId: hourA, amount: '-2' },
        { accountId: hourB, amount: '1.5' },
        { accountId: hourC, amount: '0.5' },
      ],
    });
    expect(data.postTransaction).toMatchObject({
      kind: 'ADJUSTMENT',
      externalRef: 'paper-ledger-2026',
      metadata: { reason: 'opening balances', batch: [1, 2] },
    });
    expect(data.postTransaction.postings.map((p: { amount: string }) => p.amount)).toEqual(['-2.00', '1.50', '0.50']);
  });

  it('refuses to take an account below its credit limit (INSUFFICIENT_FUNDS)', async () => {
    await refusedWithoutChange(admin, 'INSUFFICIENT_FUNDS', TRANSFER, { from: hourC, to: hourA, amount: '0.51', key: 'too-much' });
    await admin.ok(TRANSFER, { from: hourC, to: hourA, amount: '0.50', key: 'exactly-enough' });
    expect((await balances(admin, hourC)).available).toBe('0.00');
  });

  it('moves the limit with setCreditLimit and refuses negative limits', async () => {
    await admin.ok('mutation($id: ID!) { setCreditLimit(accountId: $id, creditLimit: "1") { creditLimit } }', { id: hourC });
    await admin.ok(TRANSFER, { from: hourC, to: hourA, amount: '1.00', key: 'within-new-limit' });
    expect(await admin.code('mutation($id: ID!) { setCreditLimit(accountId: $id, creditLimit: "-1") { id } }', { id: hourC })).toBe(
      'INVALID_AMOUNT',
    );
  });

  it('neither debits nor credits a frozen account (ACCOUNT_FROZEN), and unfreezing restores it', async () => {
    await admin.ok('mutation($id: ID!) { freezeAccount(accountId: $id, reason: "lost phone") { status } }', { id: hourB });
    await refusedWithoutChange(admin, 'ACCOUNT_FROZEN', TRANSFER, { from: hourB, to: hourA, amount: '0.10', key: 'from-frozen' });
    await refusedWithoutChange(admin, 'ACCOUNT_FROZEN', TRANSFER, { from: hourA, to: hourB, amount: '0.10', key: 'to-frozen' });
    const data = await admin.ok('mutation($id: ID!) { unfreezeAccount(accountId: $id) { status } }', { id: hourB });
    expect(data.unfreezeAccount.status).toBe('OPEN');
    await admin.ok(TRANSFER, { from: hourA, to: hourB, amount: '0.10', key: 'to-unfrozen' });
  });

  it('closes only an account at zero, and then neither debits nor credits it (ACCOUNT_CLOSED)', async () => {
    const dora = await registerParty(admin, 'MEMBER', 'Dora');
    const doraHours = await openAccount(admin, dora, 'HOUR');
    await admin.ok(TRANSFER, { from: hourA, to: doraHours, amount: '1.00', key: 'to-dora' });
    expect(await admin.code('mutation($id: ID!) { closeAccount(accountId: $id) { status } }', { id: doraHours })).toBe('VALIDATION_FAILED');
    await admin.ok(TRANSFER, { from: doraHours, to: hourA, amount: '1.00', key: 'from-dora' });
    const closed = await admin.ok('mutation($id: ID!) { closeAccount(accountId: $id) { status posted } }', { id: doraHours });
    expect(closed.closeAccount).toEqual({ status: 'CLOSED', posted: '0.00' });
    await refusedWithoutChange(admin, 'ACCOUNT_CLOSED', TRANSFER, { from: hourA, to: doraHours, amount: '0.10', key: 'to-closed' });
    await refusedWithoutChange(admin, 'ACCOUNT_CLOSED', TRANSFER, { from: doraHours, to: hourA, amount: '0.10', key: 'from-closed' });
    expect(await admin.code('mutation($id: ID!) { freezeAccount(accountId: $id) { status } }', { id: doraHours })).toBe('ACCOUNT_CLOSED');
  });

  it('reverses a transaction by mirroring its postings, at most once (ALREADY_REVERSED)', async () => {
    const original = await admin.ok(TRANSFER, { from: hourA, to: hourB, amount: '0.75', key: 'to-reverse' });
    const before = await balances(admin, hourA);
    const reversal = await admin.ok(REVERSE, { id: original.transfer.id, key: 'reverse-1' });
    expect(reversal.reverseTransaction.kind).toBe('REVERSAL');
    expect(reversal.reverseTransaction.memo).toBe('entered twice');
    expect(reversal.reverseTransaction.reverses.id).toBe(original.transfer.id);
    expect(reversal.reverseTransaction.postings).toEqual([
      { amount: '0.75', account: { id: hourA } },
      { amount: '-0.75', account: { id: hourB } },
    ]);
    expect(BigInt((await balances(admin, hourA)).posted.replace('.', '')) - BigInt(before.posted.replace('.', ''))).toBe(75n);
    const read = await admin.ok('query($id: ID!) { transaction(id: $id) { reversedBy { id } } }', { id: original.transfer.id });
    expect(read.transaction.reversedBy.id).toBe(reversal.reverseTransaction.id);
    await refusedWithoutChange(admin, 'ALREADY_REVERSED', REVERSE, { id: original.transfer.id, key: 'reverse-2' });
    const replay = await admin.ok(REVERSE, { id: original.transfer.id, key: 'reverse-1' });
    expect(replay.reverseTransaction.id).toBe(reversal.reverseTransaction.id);
  });

  it('refuses unknown accounts and transactions (NOT_FOUND) and malformed ids (VALIDATION_FAILED)', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    await refusedWithoutChange(admin, 'NOT_FOUND', TRANSFER, { from: unknown, to: hourB, amount: '1', key: 'nf' });
    await refusedWithoutChange(admin, 'NOT_FOUND', REVERSE, { id: unknown, key: 'nf-rev' });
    const result = await admin.request(TRANSFER, { from: "1' OR '1'='1", to: hourB, amount: '1', key: 'sql' });
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'from', message: 'not a valid id' }],
    });
    expect((await admin.ok('query($id: ID!) { account(id: $id) { id } }', { id: unknown })).account).toBeNull();
  });

  it('bounds memos, idempotency keys and page sizes (VALIDATION_FAILED with fields)', async () => {
    const memo = await admin.request(TRANSFER, { from: hourA, to: hourB, amount: '1', key: 'long-memo', memo: 'x'.repeat(501) });
    expect(memo.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'memo' }] });
    expect(await admin.code(TRANSFER, { from: hourA, to: hourB, amount: '1', key: 'k'.repeat(129) })).toBe('VALIDATION_FAILED');
    expect(await admin.code(TRANSFER, { from: hourA, to: hourB, amount: '1', key: '' })).toBe('VALIDATION_FAILED');
    expect(await admin.code('{ transactions(first: 501) { edges { cursor } } }')).toBe('VALIDATION_FAILED');
    expect(await admin.code('{ transactions(after: "not-a-cursor") { edges { cursor } } }')).toBe('VALIDATION_FAILED');
  });

  it('lists transactions in ledger order with stable keyset pages and filters', async () => {
    const all = await admin.ok('{ transactions(first: 500) { edges { node { sequence kind } } } }');
    const sequences = all.transactions.edges.map((e: { node: { sequence: string } }) => Number(e.node.sequence));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(sequences[0]).toBe(1);
    const page1 = await admin.ok('{ transactions(first: 2) { edges { node { sequence } } pageInfo { hasNextPage endCursor } } }');
    expect(page1.transactions.pageInfo.hasNextPage).toBe(true);
    const page2 = await admin.ok('query($after: String) { transactions(first: 2, after: $after) { edges { node { sequence } } } }', {
      after: page1.transactions.pageInfo.endCursor,
    });
    expect(page2.transactions.edges.map((e: { node: { sequence: string } }) => e.node.sequence)).toEqual(['3', '4']);
    const reversals = await admin.ok('{ transactions(kind: REVERSAL) { edges { node { kind } } } }');
    expect(reversals.transactions.edges).toHaveLength(1);
    const forAccount = await admin.ok(
      'query($id: ID!) { transactions(accountId: $id, first: 300) { edges { node { postings { account { id } } } } } }',
      { id: hourC },
    );
    for (const edge of forAccount.transactions.edges) {
      expect(edge.node.postings.map((p: { account: { id: string } }) => p.account.id)).toContain(hourC);
    }
    const future = await admin.ok('{ transactions(from: "2100-01-01T00:00:00Z") { edges { cursor } } }');
    expect(future.transactions.edges).toEqual([]);
    expect(await admin.code('{ transactions(from: "yesterday") { edges { cursor } } }')).toBe('VALIDATION_FAILED');
  });

  it('keeps stored balances equal to the sum of postings and the hash chain unbroken', async () => {
    const result = await verifyLedger(admin);
    expect(result.ok).toBe(true);
    expect(result.firstProblem).toBeNull();
    expect(result.accountsChecked).toBeGreaterThanOrEqual(6);
    const count = await admin.ok('{ transactions(first: 500) { edges { node { id } } } }');
    expect(result.transactionsChecked).toBe(count.transactions.edges.length);
    const chain = await admin.ok('{ transactions(first: 3) { edges { node { hash previousHash } } } }');
    const [t1, t2, t3] = chain.transactions.edges.map((e: { node: { hash: string; previousHash: string } }) => e.node);
    expect(t1.previousHash).toBe('0'.repeat(64));
    expect(t2.previousHash).toBe(t1.hash);
    expect(t3.previousHash).toBe(t2.hash);
  });

  it('keeps every TIME currency summing to zero', async () => {
    const data = await admin.ok('{ accounts(currency: "HOUR", first: 500) { edges { node { posted } } } }');
    const total = data.accounts.edges.reduce(
      (sum: bigint, e: { node: { posted: string } }) => sum + BigInt(e.node.posted.replace('.', '')),
      0n,
    );
    expect(total).toBe(0n);
  });

  describe('roles', () => {
    let anaKey: string;
    let auditorKey: string;
    beforeAll(async () => {
      anaKey = await createKey(admin, 'MEMBER', ana);
      auditorKey = await createKey(admin, 'AUDITOR');
    });

    it('lets a member move value only from their own accounts (FORBIDDEN otherwise)', async () => {
      const member = ledger.client(anaKey);
      await member.ok(TRANSFER, { from: hourA, to: hourB, amount: '0.01', key: 'ana-pays' });
      await refusedWithoutChange(member, 'FORBIDDEN', TRANSFER, { from: hourB, to: hourA, amount: '0.01', key: 'ana-steals' });
      await refusedWithoutChange(member, 'FORBIDDEN', POST, {
        kind: 'TRANSFER',
        key: 'ana-steals-2',
        postings: [
          { accountId: hourB, amount: '-1' },
          { accountId: hourA, amount: '1' },
        ],
      });
      await refusedWithoutChange(member, 'FORBIDDEN', POST, {
        kind: 'ADJUSTMENT',
        key: 'ana-adjusts',
        postings: [
          { accountId: hourA, amount: '-1' },
          { accountId: hourB, amount: '1' },
        ],
      });
    });

    it("refuses a member's payment into a credit union's issuance account (FORBIDDEN): only withdrawals retire money", async () => {
      const issuance = await admin.ok('query($p: ID!) { accounts(partyId: $p, currency: "MKE") { edges { node { id unlimited } } } }', {
        p: cu,
      });
      const issuanceId = issuance.accounts.edges[0].node.id as string;
      expect(issuance.accounts.edges[0].node.unlimited).toBe(true);
      await refusedWithoutChange(ledger.client(anaKey), 'FORBIDDEN', TRANSFER, {
        from: mkeA,
        to: issuanceId,
        amount: '0.01',
        key: 'into-issuance',
      });
    });

    it("hides other parties' balances from a member but shows the account exists", async () => {
      const member = ledger.client(anaKey);
      expect(await member.code('query($id: ID!) { account(id: $id) { posted } }', { id: hourB })).toBe('FORBIDDEN');
      const own = await member.ok('{ accounts { edges { node { id party { name } } } } }');
      expect(own.accounts.edges.map((e: { node: { party: { name: string } } }) => e.node.party.name)).toEqual(['Ana', 'Ana']);
      expect(await member.code('query($p: ID!) { accounts(partyId: $p) { edges { node { posted } } } }', { p: ben })).toBe('FORBIDDEN');
      const tx = await member.ok('{ transactions(first: 200) { edges { node { postings { account { id party { name } } } } } } }');
      expect(tx.transactions.edges.length).toBeGreaterThan(0);
      for (const edge of tx.transactions.edges) {
        expect(edge.node.postings.some((p: { account: { id: string } }) => p.account.id === hourA || p.account.id === mkeA)).toBe(true);
      }
    });

    it("lets a treasurer read a member's account as soon as the member joins the organisation", async () => {
      const coop = await registerParty(admin, 'COOPERATIVE', 'Bike co-op');
      const treasurer = ledger.client(await createKey(admin, 'TREASURER', coop));
      expect(await treasurer.code('query($id: ID!) { account(id: $id) { posted } }', { id: hourA })).toBe('FORBIDDEN');
      await admin.ok('mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }', { o: coop, m: ana });
      expect((await balances(treasurer, hourA)).posted).toMatch(/^-?\d+\.\d\d$/);
      await refusedWithoutChange(treasurer, 'FORBIDDEN', TRANSFER, {
        from: hourA,
        to: hourB,
        amount: '0.01',
        key: 'treasurer-moves-member',
      });
    });

    it('lets an auditor read everything and move nothing', async () => {
      const auditor = ledger.client(auditorKey);
      expect((await balances(auditor, hourB)).posted).toMatch(/^-?\d+\.\d\d$/);
      expect((await verifyLedger(auditor)).ok).toBe(true);
      await refusedWithoutChange(auditor, 'FORBIDDEN', TRANSFER, { from: hourA, to: hourB, amount: '0.01', key: 'auditor-pays' });
      expect(await auditor.code('mutation { registerParty(kind: MEMBER, name: "X") { id } }')).toBe('FORBIDDEN');
    });

    it('refuses a missing, unknown or revoked key at once (UNAUTHENTICATED) and records who posted', async () => {
      expect(await ledger.client().code('{ me { role } }')).toBe('UNAUTHENTICATED');
      expect(await ledger.client('sl_not_a_key').code('{ me { role } }')).toBe('UNAUTHENTICATED');
      const created = await admin.ok(
        'mutation($p: ID) { createApiKey(partyId: $p, role: MEMBER, label: "phone") { secret apiKey { id role label revoked party { name } } } }',
        { p: ben },
      );
      expect(created.createApiKey.apiKey).toMatchObject({ role: 'MEMBER', label: 'phone', revoked: false, party: { name: 'Ben' } });
      expect(created.createApiKey.secret.length).toBeGreaterThanOrEqual(40);
      const benClient = ledger.client(created.createApiKey.secret);
      expect((await benClient.ok('{ me { role party { name } apiKey { id } } }')).me).toEqual({
        role: 'MEMBER',
        party: { name: 'Ben' },
        apiKey: { id: created.createApiKey.apiKey.id },
      });
      const revoked = await admin.ok('mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }', { id: created.createApiKey.apiKey.id });
      expect(revoked.revokeApiKey.revoked).toBe(true);
      expect(await benClient.code('{ me { role } }')).toBe('UNAUTHENTICATED');
    });

    it('binds member keys to a party and refuses binding roles to the wrong kind of party', async () => {
      expect(await admin.code('mutation { createApiKey(role: MEMBER) { secret } }')).toBe('VALIDATION_FAILED');
      expect(await admin.code('mutation($p: ID) { createApiKey(partyId: $p, role: INTEGRATION) { secret } }', { p: ana })).toBe(
        'VALIDATION_FAILED',
      );
      expect(await admin.code('mutation($p: ID) { createApiKey(partyId: $p, role: AUDITOR) { secret } }', { p: ana })).toBe(
        'VALIDATION_FAILED',
      );
    });
  });
});

describe('errors in production', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startLedger({ NODE_ENV: 'production' });
  });
  afterAll(async () => ledger.stop());

  it('carries a code, no stack trace and no schema suggestions', async () => {
    const result = await ledger.admin.request('{ transactionz { edges { cursor } } }');
    const error = result.errors?.[0];
    expect(error?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(error?.message).not.toMatch(/Did you mean/);
    expect(JSON.stringify(result)).not.toMatch(/stacktrace|at .*\.js:\d+/);
    const refused = await ledger.admin.request('{ account(id: "nope") { id } }');
    expect(refused.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(refused)).not.toMatch(/stacktrace/);
  });

  it('turns introspection off unless configured', async () => {
    const result = await ledger.admin.request('{ __schema { types { name } } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });
});
