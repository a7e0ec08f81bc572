import { Client } from 'pg';
import { createKey, registerParty, snapshot, startLedger, type TestLedger } from '../support/ledger';
import { addMember, dataOf, newMember, recordExchange, setUpHours, type Member } from '../timebank/helpers';

/**
 * What one member may learn about another (SPEC B.1), through the API against a real database:
 * refusals carry no one else's numbers, nested fields apply the read rule of the object they
 * reach, and the directory (id, party, currency, status) is open while balances are not.
 */
describe('what a caller may learn', () => {
  let ledger: TestLedger;
  let ana: Member; // provider
  let ben: Member; // receiver: the victim of hole 1
  let cai: Member; // a stranger to both
  let timebank: Member; // a community with a TREASURER key; Ana and Ben belong to it, Cai does not
  let exchangeId: string;
  let transactionId: string;
  let n = 0;
  const key = () => `read-rules-${++n}`;

  beforeAll(async () => {
    ledger = await startLedger();
    const { admin } = ledger;
    await setUpHours(admin);
    ana = await newMember(admin, 'Ana');
    ben = await newMember(admin, 'Ben', { creditLimit: '7.25' });
    cai = await newMember(admin, 'Cai');
    timebank = await newMember(admin, 'Riverside Time Bank', { kind: 'COMMUNITY', role: 'TREASURER', creditLimit: '1000' });
    await addMember(admin, timebank.partyId, ana.partyId);
    await addMember(admin, timebank.partyId, ben.partyId);
    // Ben stands at 3.13 hours: numbers no one but Ben's side should see.
    await admin.ok('mutation($f: ID!, $t: ID!) { transfer(from: $f, to: $t, amount: "3.13", idempotencyKey: "seed-ben") { id } }', {
      f: timebank.accountId,
      t: ben.accountId,
    });
    const offer = dataOf(
      await ledger
        .client(ana.key)
        .request('mutation($p: ID!) { postOffer(partyId: $p, title: "Bike repair", category: "repairs", hours: "1.50") { id } }', {
          p: ana.partyId,
        }),
    ).postOffer.id as string;
    // Ben (the receiver) records it: the hours move at once, and Ana's offer links to the exchange.
    const recorded = dataOf(
      await recordExchange(ledger.client(ben.key), {
        provider: ana.accountId,
        receiver: ben.accountId,
        hours: '1.50',
        offerId: offer,
        description: 'fixed the brakes',
        key: key(),
      }),
    ).recordExchange;
    exchangeId = recorded.id;
    transactionId = recorded.transaction.id;
  });
  afterAll(async () => ledger.stop());

  describe('hole 1: refusals never carry numbers of an account the caller may not read', () => {
    it("a provider's huge claim against someone else's hours is refused without the receiver's balance or limit", async () => {
      const before = await snapshot(ledger.admin);
      const result = await recordExchange(ledger.client(ana.key), {
        provider: ana.accountId,
        receiver: ben.accountId,
        hours: '9999.99',
        key: key(),
      });
      expect(result.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
      const message = result.errors?.[0]?.message ?? '';
      // Ben's available 1.63 (3.13 - 1.50), his limit 7.25, and what he would have left.
      for (const leak of ['1.63', '7.25', '8.88', '9998.36', '-9998.36']) expect(message).not.toContain(leak);
      expect(message.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '')).not.toMatch(/\d/);
      expect(await snapshot(ledger.admin)).toBe(before);
    });

    it('a plain hold or transfer beyond the limit says no numbers either', async () => {
      const result = await ledger
        .client(cai.key)
        .request('mutation($f: ID!, $t: ID!) { createHold(from: $f, to: $t, amount: "500.00", idempotencyKey: "cai-hold") { id } }', {
          f: cai.accountId,
          t: ben.accountId,
        });
      expect(result.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
      expect(result.errors?.[0]?.message).not.toMatch(/\d+\.\d\d/);
    });
  });

  describe('hole 2: nested fields apply the read rule of the object they reach', () => {
    const NESTED = `{ offers(first: 50) { edges { node { id exchange { id hours description provider { id } receiver { id }
                     hold { id } transaction { id postings { amount account { id } } } } } } } }`;

    it('a stranger reading offers gets null for the exchange that fulfilled one, not the exchange, accounts or postings', async () => {
      const result = await ledger.client(cai.key).request(NESTED);
      expect(result.errors ?? []).toEqual([]);
      const nodes = result.data.offers.edges.map((e: { node: unknown }) => e.node);
      expect(nodes.length).toBeGreaterThan(0);
      for (const node of nodes) expect(node.exchange).toBeNull();
      expect(JSON.stringify(result.data)).not.toContain('fixed the brakes');
      // The root query refuses the same exchange, as it did.
      expect(await ledger.client(cai.key).code('query($id: ID!) { exchange(id: $id) { id } }', { id: exchangeId })).toBe('FORBIDDEN');
    });

    it('the parties of the exchange, their coordinator and an auditor see it through the offer', async () => {
      for (const k of [ana.key, ben.key, timebank.key, await createKey(ledger.admin, 'AUDITOR')]) {
        const result = await ledger.client(k).request(NESTED);
        const node = result.data.offers.edges
          .map((e: { node: { exchange: { id: string } | null } }) => e.node)
          .find((o: { exchange: { id: string } | null }) => o.exchange?.id === exchangeId);
        expect(node?.exchange.transaction.id).toBe(transactionId);
      }
    });

    it("a transaction's reversal is null to a stranger, and to a party of it only what the rule allows", async () => {
      const reversal = (
        await ledger.admin.ok('mutation($id: ID!) { reverseTransaction(id: $id, reason: "typo", idempotencyKey: "rev-1") { id } }', {
          id: transactionId,
        })
      ).reverseTransaction.id;
      const readBy = await ledger.client(ana.key).ok('query($id: ID!) { transaction(id: $id) { reversedBy { id reverses { id } } } }', {
        id: transactionId,
      });
      expect(readBy.transaction.reversedBy).toEqual({ id: reversal, reverses: { id: transactionId } });
      expect(await ledger.client(cai.key).code('query($id: ID!) { transaction(id: $id) { id } }', { id: reversal })).toBe('FORBIDDEN');
    });

    it("a posting's account shows its directory fields, but its balances only to who may read it", async () => {
      const result = await ledger
        .client(ana.key)
        .request('query($id: ID!) { transaction(id: $id) { postings { account { id status posted } } } }', { id: transactionId });
      expect(result.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
      expect(JSON.stringify(result)).not.toContain('1.63');
    });
  });

  describe('hole 3: a member can find whom to pay (the directory), not what they hold', () => {
    it("lists another member's accounts with id, party, currency and status", async () => {
      const data = await ledger
        .client(cai.key)
        .ok('query($p: ID!) { accounts(partyId: $p) { edges { node { id status party { id name } currency { code } } } } }', {
          p: ana.partyId,
        });
      expect(data.accounts.edges).toEqual([
        { node: { id: ana.accountId, status: 'OPEN', party: { id: ana.partyId, name: 'Ana' }, currency: { code: 'HOUR' } } },
      ]);
      const one = await ledger.client(cai.key).ok('query($id: ID!) { account(id: $id) { id status party { id } } }', { id: ben.accountId });
      expect(one.account).toEqual({ id: ben.accountId, status: 'OPEN', party: { id: ben.partyId } });
    });

    it('refuses the balance, limit and history fields of those accounts (FORBIDDEN)', async () => {
      const cai_ = ledger.client(cai.key);
      for (const field of ['posted', 'available', 'pendingDebits', 'pendingCredits', 'creditLimit']) {
        expect(await cai_.code(`query($id: ID!) { account(id: $id) { id ${field} } }`, { id: ben.accountId })).toBe('FORBIDDEN');
        expect(await cai_.code(`query($p: ID!) { accounts(partyId: $p) { edges { node { ${field} } } } }`, { p: ben.partyId })).toBe(
          'FORBIDDEN',
        );
      }
      expect(await cai_.code('query($id: ID!) { statement(accountId: $id) { closingBalance } }', { id: ben.accountId })).toBe('FORBIDDEN');
      expect(await cai_.code('query($id: ID!) { transactions(accountId: $id) { edges { cursor } } }', { id: ben.accountId })).toBe(
        'FORBIDDEN',
      );
    });

    it('without a party, accounts lists only what the key may read', async () => {
      const data = await ledger.client(cai.key).ok('{ accounts { edges { node { id posted } } } }');
      expect(data.accounts.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([cai.accountId]);
    });
  });

  describe('point 8: a treasurer records exchanges on behalf of receivers of its own organisation only', () => {
    it('records for a member of its time bank, and the exchange keeps which key recorded it', async () => {
      const recorded = dataOf(
        await recordExchange(ledger.client(timebank.key), { provider: ben.accountId, receiver: ana.accountId, hours: '0.25', key: key() }),
      ).recordExchange;
      expect(recorded.status).toBe('CONFIRMED');
      const me = (await ledger.client(timebank.key).ok('{ me { apiKey { id } } }')).me.apiKey.id;
      const db = new Client({ connectionString: ledger.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query('SELECT recorded_by FROM exchanges WHERE id = $1', [recorded.id]);
        expect(rows).toEqual([{ recorded_by: me }]);
      } finally {
        await db.end();
      }
    });

    it('refuses to record for a receiver outside its organisation (FORBIDDEN), changing nothing', async () => {
      const before = await snapshot(ledger.admin);
      const outsider = await registerParty(ledger.admin, 'COOPERATIVE', 'Far Co-op');
      const otherTreasurer = await createKey(ledger.admin, 'TREASURER', outsider);
      for (const k of [timebank.key, otherTreasurer]) {
        const result = await recordExchange(ledger.client(k), {
          provider: ana.accountId,
          receiver: cai.accountId,
          hours: '0.25',
          key: key(),
        });
        expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
      expect(await snapshot(ledger.admin)).toBe(before);
    });
  });
});
