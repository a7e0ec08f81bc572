import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { connect } from '../support/database';
import { balances, createKey, startLedger, transfer, verifyLedger, type TestLedger } from '../support/ledger';
import {
  codeOf,
  confirmExchange,
  dataOf,
  disputeExchange,
  newMember,
  recordExchange,
  setUpHours,
  waitFor,
  withdrawExchange,
  type Member,
} from './helpers';

/**
 * Claims (exchanges recorded by their provider) hold the receiver's hours until the receiver
 * answers. Before SPEC B.1's claim rules a provider could hold anyone's hours for ever, as many
 * times as it liked: claims now expire, can be withdrawn, and a provider has a bounded number
 * pending at once.
 */

interface EventRow {
  type: string;
  data: { exchange?: { id: string; status: string; holdId: string | null } };
}

async function exchangeEvents(db: Client, exchangeId: string): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    "SELECT type, data FROM ledger_events WHERE type LIKE 'EXCHANGE_%' AND data->'exchange'->>'id' = $1 ORDER BY seq",
    [exchangeId],
  );
  return rows;
}

async function storedStatus(db: Client, exchangeId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM exchanges WHERE id = $1', [exchangeId]);
  return rows[0]?.status;
}

/** Events are written only while some webhook exists (docs/webhooks.md): one that nobody receives. */
async function addSilentWebhook(db: Client): Promise<void> {
  const { rows } = await db.query<{ id: string; network_id: string }>("SELECT id, network_id FROM api_keys WHERE role = 'ADMIN' LIMIT 1");
  await db.query(
    `INSERT INTO webhooks (network_id, id, url, events, api_key_id, secret_ciphertext)
     VALUES ($2, gen_random_uuid(), 'http://example.test/hook', '{EXCHANGE_RESOLVED}', $1, '\\x00')`,
    [rows[0]?.id, rows[0]?.network_id],
  );
}

const EXCHANGE_READ = 'query($id: ID!) { exchange(id: $id) { id status resolvedAt hold { id status expiresAt } } }';

describe('claims expire by themselves (EXCHANGE_CLAIM_TTL_DAYS)', () => {
  let ledger: TestLedger;
  let db: Client;
  let ana: Member;
  let ben: Member;

  beforeAll(async () => {
    // About 1.7 seconds, and a sweeper that runs often: nobody touches these accounts after the claim.
    ledger = await startLedger({ EXCHANGE_CLAIM_TTL_DAYS: '0.00002', HOLD_SWEEP_INTERVAL_MS: '100' });
    db = await connect(ledger.databaseUrl);
    await addSilentWebhook(db);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '10' });
    ben = await newMember(ledger.admin, 'Ben');
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('a provider’s claim holds the receiver’s hours only until it expires: then EXPIRED, its hold EXPIRED, the hours free, EXCHANGE_RESOLVED sent', async () => {
    const claim = dataOf(
      await recordExchange(ledger.client(ben.key), { provider: ben.accountId, receiver: ana.accountId, hours: '10', key: 'freeze' }),
    ).recordExchange;
    expect((await balances(ledger.admin, ana.accountId)).available).toBe('-10.00');
    const read = (await ledger.client(ana.key).ok(EXCHANGE_READ, { id: claim.id })).exchange;
    expect(read.hold.expiresAt).not.toBeNull();
    await waitFor('the claim to expire in storage', async () => ((await storedStatus(db, claim.id)) === 'EXPIRED' ? true : undefined));
    const after = (await ledger.client(ana.key).ok(EXCHANGE_READ, { id: claim.id })).exchange;
    expect([after.status, after.hold.status]).toEqual(['EXPIRED', 'EXPIRED']);
    expect(after.resolvedAt).not.toBeNull();
    expect(await balances(ledger.admin, ana.accountId)).toMatchObject({ pendingDebits: '0.00', available: '0.00' });
    expect(await balances(ledger.admin, ben.accountId)).toMatchObject({ pendingCredits: '0.00' });
    expect((await exchangeEvents(db, claim.id)).map((e) => [e.type, e.data.exchange?.status])).toEqual([
      ['EXCHANGE_PENDING', 'PENDING'],
      ['EXCHANGE_RESOLVED', 'EXPIRED'],
    ]);
    // An expired claim is over: the receiver can no longer confirm it, nor the provider withdraw it.
    expect(codeOf(await confirmExchange(ledger.client(ana.key), claim.id))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await disputeExchange(ledger.client(ana.key), claim.id, 'late'))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await withdrawExchange(ledger.client(ben.key), claim.id))).toBe('HOLD_NOT_PENDING');
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, firstProblem: null });
  });
});

describe('claims: withdrawal, a bound per provider, lists in both directions', () => {
  let ledger: TestLedger;
  let db: Client;
  let ana: Member; // receiver
  let ben: Member; // provider
  let cara: Member; // another member
  let n = 0;
  const key = () => `claim-${++n}`;
  const claimFrom = async (provider: Member, receiver: Member, hours = '1') =>
    dataOf(
      await recordExchange(ledger.client(provider.key), { provider: provider.accountId, receiver: receiver.accountId, hours, key: key() }),
    ).recordExchange;

  beforeAll(async () => {
    // The sweeper waits an hour: what happens at expiry here is the reads' doing.
    ledger = await startLedger({ MAX_PENDING_CLAIMS: '5', HOLD_SWEEP_INTERVAL_MS: '3600000' });
    db = await connect(ledger.databaseUrl);
    await addSilentWebhook(db);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana', { creditLimit: '100' });
    ben = await newMember(ledger.admin, 'Ben');
    cara = await newMember(ledger.admin, 'Cara', { creditLimit: '100' });
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('gives a claim a deadline EXCHANGE_CLAIM_TTL_DAYS (default 14) after it was recorded, by the database clock', async () => {
    const claim = await claimFrom(ben, ana);
    const { rows } = await db.query<{ days: string }>(
      `SELECT extract(epoch FROM h.expires_at - h.created_at)::numeric / 86400 AS days FROM holds h WHERE h.id = $1`,
      [claim.hold.id],
    );
    expect(Number(rows[0]?.days)).toBe(14);
    dataOf(await withdrawExchange(ledger.client(ben.key), claim.id));
  });

  it('the provider withdraws its pending claim: WITHDRAWN, its hold VOIDED, the hours free, EXCHANGE_RESOLVED sent', async () => {
    const claim = await claimFrom(ben, ana, '3');
    expect((await balances(ledger.admin, ana.accountId)).pendingDebits).toBe('3.00');
    const withdrawn = dataOf(await withdrawExchange(ledger.client(ben.key), claim.id, 'take-back-1')).withdrawExchange;
    expect([withdrawn.status, withdrawn.hold.status, withdrawn.transaction]).toEqual(['WITHDRAWN', 'VOIDED', null]);
    expect(await balances(ledger.admin, ana.accountId)).toMatchObject({ pendingDebits: '0.00', posted: '0.00' });
    expect(await balances(ledger.admin, ben.accountId)).toMatchObject({ pendingCredits: '0.00', posted: '0.00' });
    expect((await exchangeEvents(db, claim.id)).map((e) => [e.type, e.data.exchange?.status])).toEqual([
      ['EXCHANGE_PENDING', 'PENDING'],
      ['EXCHANGE_RESOLVED', 'WITHDRAWN'],
    ]);
    // A retry with the same key answers the same; without a key a second withdrawal is refused.
    const again = dataOf(await withdrawExchange(ledger.client(ben.key), claim.id, 'take-back-1')).withdrawExchange;
    expect([again.id, again.status]).toEqual([claim.id, 'WITHDRAWN']);
    expect(codeOf(await withdrawExchange(ledger.client(ben.key), claim.id))).toBe('HOLD_NOT_PENDING');
    expect(codeOf(await confirmExchange(ledger.client(ana.key), claim.id))).toBe('HOLD_NOT_PENDING');
  });

  it('only the provider (or an admin) withdraws: the receiver and others are FORBIDDEN, an unknown id NOT_FOUND, a settled claim HOLD_NOT_PENDING', async () => {
    const claim = await claimFrom(ben, ana);
    const auditor = await createKey(ledger.admin, 'AUDITOR');
    expect(codeOf(await withdrawExchange(ledger.client(ana.key), claim.id))).toBe('FORBIDDEN');
    expect(codeOf(await withdrawExchange(ledger.client(cara.key), claim.id))).toBe('FORBIDDEN');
    expect(codeOf(await withdrawExchange(ledger.client(auditor), claim.id))).toBe('FORBIDDEN');
    expect(codeOf(await withdrawExchange(ledger.client(ben.key), '00000000-0000-4000-8000-00000000abcd'))).toBe('NOT_FOUND');
    expect(await storedStatus(db, claim.id)).toBe('PENDING');
    expect(dataOf(await withdrawExchange(ledger.admin, claim.id)).withdrawExchange.status).toBe('WITHDRAWN');
    const confirmed = await claimFrom(ben, ana);
    dataOf(await confirmExchange(ledger.client(ana.key), confirmed.id));
    expect(codeOf(await withdrawExchange(ledger.client(ben.key), confirmed.id))).toBe('HOLD_NOT_PENDING');
  });

  it('never reads a claim past its deadline as pending, though storage has not caught up', async () => {
    const claim = await claimFrom(ben, cara, '2');
    await db.query(`UPDATE holds SET expires_at = clock_timestamp() - interval '1 second' WHERE id = $1`, [claim.hold.id]);
    expect(await storedStatus(db, claim.id)).toBe('PENDING');
    const read = (await ledger.client(cara.key).ok(EXCHANGE_READ, { id: claim.id })).exchange;
    expect([read.status, read.hold.status]).toEqual(['EXPIRED', 'EXPIRED']);
    const list = `query($id: ID!, $status: ExchangeStatus) { exchanges(accountId: $id, status: $status) { edges { node { id } } } }`;
    const pending = (await ledger.client(cara.key).ok(list, { id: cara.accountId, status: 'PENDING' })).exchanges.edges;
    expect(pending.map((e: { node: { id: string } }) => e.node.id)).not.toContain(claim.id);
    const expired = (await ledger.client(cara.key).ok(list, { id: cara.accountId, status: 'EXPIRED' })).exchanges.edges;
    expect(expired.map((e: { node: { id: string } }) => e.node.id)).toContain(claim.id);
    expect(codeOf(await withdrawExchange(ledger.client(ben.key), claim.id))).toBe('HOLD_NOT_PENDING');
    // The next posting that touches the receiver's account stores the expiry, with its event.
    expect((await transfer(ledger.client(cara.key), cara.accountId, ana.accountId, '1', 'touches-cara')).errors).toBeUndefined();
    expect(await storedStatus(db, claim.id)).toBe('EXPIRED');
    expect((await exchangeEvents(db, claim.id)).map((e) => e.data.exchange?.status)).toEqual(['PENDING', 'EXPIRED']);
  });

  it('lists a member’s pending claims in both directions: as provider and as receiver', async () => {
    const dan = await newMember(ledger.admin, 'Dan', { creditLimit: '10' });
    const given = await claimFrom(dan, ana);
    const received = await claimFrom(ben, dan);
    const list = `query($id: ID!, $role: ExchangeRole) {
      exchanges(accountId: $id, status: PENDING, role: $role) { edges { node { id status provider { id } receiver { id } } } } }`;
    const ids = async (role: string | null) =>
      ((await ledger.client(dan.key).ok(list, { id: dan.accountId, role })).exchanges.edges as { node: { id: string } }[]).map(
        (e) => e.node.id,
      );
    expect(await ids('PROVIDER')).toEqual([given.id]);
    expect(await ids('RECEIVER')).toEqual([received.id]);
    expect(await ids(null)).toEqual([given.id, received.id]);
    dataOf(await withdrawExchange(ledger.client(dan.key), given.id));
    dataOf(await withdrawExchange(ledger.client(ben.key), received.id));
  });

  it('bounds a provider’s pending claims (MAX_PENDING_CLAIMS) under concurrent requests: the rest VALIDATION_FAILED, naming the limit only', async () => {
    const eve = await newMember(ledger.admin, 'Eve');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        recordExchange(ledger.client(eve.key), {
          provider: eve.accountId,
          receiver: i % 2 === 0 ? ana.accountId : cara.accountId,
          hours: '1',
          key: `eve-${i}`,
        }),
      ),
    );
    const accepted = results.filter((r) => !r.errors);
    const refused = results.filter((r) => r.errors);
    expect([accepted.length, refused.length]).toEqual([5, 7]);
    for (const r of refused) {
      expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
      const message = r.errors?.[0]?.message ?? '';
      expect(message).toContain('5');
      // The receivers' balances, limits or pending hours never appear.
      expect(message).not.toMatch(/available|-?\d+\.\d\d/);
    }
    const { rows } = await db.query<{ count: string }>(
      "SELECT count(*)::text AS count FROM exchanges WHERE provider_account_id = $1 AND status = 'PENDING'",
      [eve.accountId],
    );
    expect(rows[0]?.count).toBe('5');
    // Withdrawing one makes room for one more.
    const first = accepted[0]?.data as { recordExchange: { id: string } };
    dataOf(await withdrawExchange(ledger.client(eve.key), first.recordExchange.id));
    expect(
      (await recordExchange(ledger.client(eve.key), { provider: eve.accountId, receiver: ana.accountId, hours: '1', key: 'eve-more' }))
        .errors,
    ).toBeUndefined();
    expect(
      codeOf(
        await recordExchange(ledger.client(eve.key), { provider: eve.accountId, receiver: ana.accountId, hours: '1', key: 'eve-over' }),
      ),
    ).toBe('VALIDATION_FAILED');
    // Exchanges recorded by the receiver are no claims: they post at once, whatever the provider has pending.
    expect(
      (await recordExchange(ledger.client(ana.key), { provider: eve.accountId, receiver: ana.accountId, hours: '1', key: 'ana-pays' }))
        .errors,
    ).toBeUndefined();
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true, firstProblem: null });
  });

  it('the upgrade gives claims pending before it a deadline counted from the upgrade (migration 0015, which runs again harmlessly)', async () => {
    const claim = await claimFrom(ben, cara);
    // As a claim recorded before this release: no deadline.
    await db.query('UPDATE holds SET expires_at = NULL WHERE id = $1', [claim.hold.id]);
    await db.query(readFileSync(join(__dirname, '../../migrations/0015_claims_end.sql'), 'utf8'));
    const { rows } = await db.query<{ days: string }>(
      `SELECT round(extract(epoch FROM h.expires_at - clock_timestamp())::numeric / 86400, 2)::text AS days FROM holds h WHERE h.id = $1`,
      [claim.hold.id],
    );
    expect(rows[0]?.days).toBe('14.00');
    dataOf(await withdrawExchange(ledger.client(ben.key), claim.id));
  });
});
