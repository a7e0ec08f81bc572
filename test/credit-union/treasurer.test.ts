import type { GqlClient } from '../support/graphql';
import { balances, createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger } from '../support/ledger';
import { DEPOSIT, DISTRIBUTE, issuanceAccount, RECONCILE, refusedWithoutChange, TRANSFER } from './support';

const POST = `mutation($postings: [PostingInput!]!, $key: String!) {
  postTransaction(postings: $postings, kind: TRANSFER, idempotencyKey: $key) { id } }`;
const STATEMENT = `query($id: ID!) { statement(accountId: $id) {
  openingBalance closingBalance entries { edges { node { amount balance } } } } }`;
const ACCOUNT_TRANSACTIONS = 'query($id: ID!) { transactions(accountId: $id) { edges { node { id kind } } } }';

describe('treasurer keys: moving money from the organisation, reading its members', () => {
  let ledger: TestLedger;
  let admin: GqlClient;
  let coop: string;
  let ana: string;
  let dan: string;
  let coopMain: string;
  let coopReserve: string;
  let cltSupport: string;
  let cuSupport: string;
  let issuance: string;
  let anaMke: string;
  let benMke: string;
  let danMke: string;
  let coopTreasurer: GqlClient;
  let cltTreasurer: GqlClient;
  let cuTreasurer: GqlClient;

  beforeAll(async () => {
    ledger = await startLedger();
    admin = ledger.admin;
    const riverside = await registerParty(admin, 'CREDIT_UNION', 'Riverside Credit Union');
    await createCurrency(admin, 'MKE', 'MONEY', 2, riverside);
    issuance = await issuanceAccount(admin, riverside, 'MKE');
    coop = await registerParty(admin, 'COOPERATIVE', 'Bakery Co-op');
    const clt = await registerParty(admin, 'LAND_TRUST', 'Eastside Community Land Trust');
    ana = await registerParty(admin, 'MEMBER', 'Ana');
    const ben = await registerParty(admin, 'MEMBER', 'Ben');
    dan = await registerParty(admin, 'MEMBER', 'Dan');
    const link = 'mutation($o: ID!, $m: ID!) { addPartyMember(organisationId: $o, memberId: $m) { id } }';
    await admin.ok(link, { o: coop, m: ana });
    await admin.ok(link, { o: clt, m: ben });
    coopMain = await openAccount(admin, coop, 'MKE');
    coopReserve = await openAccount(admin, coop, 'MKE');
    cltSupport = await openAccount(admin, clt, 'MKE');
    cuSupport = await openAccount(admin, riverside, 'MKE');
    anaMke = await openAccount(admin, ana, 'MKE');
    benMke = await openAccount(admin, ben, 'MKE');
    danMke = await openAccount(admin, dan, 'MKE');
    for (const [accountId, key] of [
      [coopMain, 'f-1'],
      [cltSupport, 'f-2'],
      [anaMke, 'f-3'],
      [danMke, 'f-4'],
      [cuSupport, 'f-5'],
    ] as const) {
      await admin.ok(DEPOSIT, { accountId, amount: '500.00', ref: key, key });
    }
    coopTreasurer = ledger.client(await createKey(admin, 'TREASURER', coop));
    cltTreasurer = ledger.client(await createKey(admin, 'TREASURER', clt));
    cuTreasurer = ledger.client(await createKey(admin, 'TREASURER', riverside));
  });
  afterAll(async () => ledger.stop());

  it("moves money between the co-op's own accounts and to a member", async () => {
    await coopTreasurer.ok(TRANSFER, { from: coopMain, to: coopReserve, amount: '100.00', key: 't-1' });
    await coopTreasurer.ok(TRANSFER, { from: coopMain, to: anaMke, amount: '25.00', key: 't-2' });
    expect((await balances(coopTreasurer, coopMain)).posted).toBe('375.00');
    expect((await balances(coopTreasurer, coopReserve)).posted).toBe('100.00');
    expect((await balances(coopTreasurer, anaMke)).posted).toBe('525.00');
  });

  it("distributes from the organisation's account: a CLT treasurer splits a royalty with members", async () => {
    const data = await cltTreasurer.ok(DISTRIBUTE, {
      from: cltSupport,
      amount: '90.00',
      shares: [
        { accountId: benMke, weight: 2 },
        { accountId: danMke, weight: 1 },
      ],
      memo: 'land lease share',
      key: 'd-1',
    });
    expect(data.distribute.postings.map((p: { amount: string }) => p.amount)).toEqual(['-90.00', '60.00', '30.00']);
  });

  it("refuses to move money from a member's account or another organisation's (FORBIDDEN), changing nothing", async () => {
    await refusedWithoutChange(admin, coopTreasurer, 'FORBIDDEN', TRANSFER, { from: anaMke, to: coopMain, amount: '1.00', key: 'x-1' });
    await refusedWithoutChange(admin, coopTreasurer, 'FORBIDDEN', TRANSFER, { from: cltSupport, to: coopMain, amount: '1.00', key: 'x-2' });
    await refusedWithoutChange(admin, coopTreasurer, 'FORBIDDEN', DISTRIBUTE, {
      from: cltSupport,
      amount: '1.00',
      shares: [{ accountId: anaMke, weight: 1 }],
      key: 'x-3',
    });
    await refusedWithoutChange(admin, coopTreasurer, 'FORBIDDEN', DISTRIBUTE, {
      from: anaMke,
      amount: '1.00',
      shares: [{ accountId: coopMain, weight: 1 }],
      key: 'x-4',
    });
    await refusedWithoutChange(admin, coopTreasurer, 'FORBIDDEN', POST, {
      key: 'x-5',
      postings: [
        { accountId: coopMain, amount: '-1' },
        { accountId: anaMke, amount: '-1' },
        { accountId: coopReserve, amount: '2' },
      ],
    });
  });

  it("reads the co-op's and its members' accounts and transactions, and nobody else's", async () => {
    expect((await balances(coopTreasurer, anaMke)).posted).toBe('525.00');
    const history = await coopTreasurer.ok(ACCOUNT_TRANSACTIONS, { id: anaMke });
    expect(history.transactions.edges.map((e: { node: { kind: string } }) => e.node.kind)).toEqual(['DEPOSIT', 'TRANSFER']);
    const own = await coopTreasurer.ok('query($p: ID!) { accounts(partyId: $p) { edges { node { id posted } } } }', { p: ana });
    expect(own.accounts.edges).toEqual([{ node: { id: anaMke, posted: '525.00' } }]);

    expect(await coopTreasurer.code('query($id: ID!) { account(id: $id) { posted } }', { id: danMke })).toBe('FORBIDDEN');
    expect(await coopTreasurer.code('query($id: ID!) { account(id: $id) { posted } }', { id: cltSupport })).toBe('FORBIDDEN');
    expect(await coopTreasurer.code(ACCOUNT_TRANSACTIONS, { id: danMke })).toBe('FORBIDDEN');
    expect(await coopTreasurer.code('query($p: ID!) { accounts(partyId: $p) { edges { node { posted } } } }', { p: dan })).toBe(
      'FORBIDDEN',
    );
  });

  it("reads its members' statements, and not the statements of anyone else (FORBIDDEN)", async () => {
    const statement = await coopTreasurer.ok(STATEMENT, { id: anaMke });
    expect(statement.statement).toMatchObject({ openingBalance: '0.00', closingBalance: '525.00' });
    expect(statement.statement.entries.edges.map((e: { node: { amount: string; balance: string } }) => e.node)).toEqual([
      { amount: '500.00', balance: '500.00' },
      { amount: '25.00', balance: '525.00' },
    ]);
    expect((await coopTreasurer.ok(STATEMENT, { id: coopMain })).statement.closingBalance).toBe('375.00');
    expect(await coopTreasurer.code(STATEMENT, { id: danMke })).toBe('FORBIDDEN');
    expect(await coopTreasurer.code(STATEMENT, { id: benMke })).toBe('FORBIDDEN');
    expect((await cltTreasurer.ok(STATEMENT, { id: benMke })).statement.closingBalance).toBe('60.00');
  });

  it('may not deposit, withdraw, or reconcile a currency its organisation does not issue (FORBIDDEN)', async () => {
    await refusedWithoutChange(admin, coopTreasurer, 'FORBIDDEN', DEPOSIT, { accountId: coopMain, amount: '1.00', ref: 'x', key: 'x-6' });
    expect(await coopTreasurer.code(RECONCILE, { currency: 'MKE', reserve: '0' })).toBe('FORBIDDEN');
  });

  it("lets a credit union's treasurer move its support account and reconcile, but never draw on the issuance account", async () => {
    const reconciliation = await cuTreasurer.ok(RECONCILE, { currency: 'MKE', reserve: '2500.00' });
    expect(reconciliation.reconciliation).toMatchObject({ circulation: '2500.00', balanced: true });
    await cuTreasurer.ok(TRANSFER, { from: cuSupport, to: cltSupport, amount: '10.00', key: 'cu-1' });
    await refusedWithoutChange(admin, cuTreasurer, 'FORBIDDEN', TRANSFER, { from: issuance, to: cuSupport, amount: '10.00', key: 'cu-2' });
    await refusedWithoutChange(admin, cuTreasurer, 'FORBIDDEN', POST, {
      key: 'cu-3',
      postings: [
        { accountId: issuance, amount: '-10' },
        { accountId: cuSupport, amount: '10' },
      ],
    });
    await refusedWithoutChange(admin, cuTreasurer, 'FORBIDDEN', DISTRIBUTE, {
      from: issuance,
      amount: '10.00',
      shares: [{ accountId: cuSupport, weight: 1 }],
      key: 'cu-4',
    });
    await refusedWithoutChange(admin, cuTreasurer, 'FORBIDDEN', DEPOSIT, { accountId: cuSupport, amount: '1.00', ref: 'x', key: 'cu-5' });
  });
});
