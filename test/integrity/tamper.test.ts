import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { verifyJournal } from '../../src/ledger/query/journal-verifier';
import { connect } from '../support/database';
import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger, verifyLedger } from '../support/ledger';
import { pay, post } from '../reports/helpers';

/**
 * SPEC B.2: hash recipe version 2 covers every stored column of a transaction and its postings.
 * Someone with database access disables every trigger (session_replication_role = replica:
 * append-only guards and foreign keys alike), changes one column of one version-2 transaction,
 * and both verifyLedger and the offline verifier on a full export find it; the column is then
 * put back and both pass again. Each column in turn.
 */
/** Every tampering statement takes the same four parameters, whichever it uses. */
const ALL_PARAMS = '$2::uuid IS NOT NULL AND $3::uuid IS NOT NULL AND $4::uuid IS NOT NULL';

describe('tampering with any stored column of a version-2 transaction or its postings', () => {
  let ledger: TestLedger;
  let db: Client;
  let target: { id: string; sequence: string };
  let other: { id: string };
  let otherKeyId: string;
  let thirdAccount: string;
  const otherNetwork = randomUUID();
  const orphan = randomUUID();

  async function exportHours(): Promise<string> {
    return (await ledger.admin.ok<{ exportJournal: string }>('{ exportJournal(currency: "HOUR", format: HLEDGER) }')).exportJournal;
  }

  /** Runs SQL with every trigger off, committed, as a forger with database access would. */
  async function behindTheService(sql: string, params: unknown[]): Promise<void> {
    await db.query('BEGIN');
    try {
      await db.query('SET LOCAL session_replication_role = replica');
      await db.query(sql, params);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK');
      throw error;
    }
  }

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    const { admin } = ledger;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    const [a, b, c] = [
      await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ana'), 'HOUR'),
      await openAccount(admin, await registerParty(admin, 'MEMBER', 'Ben'), 'HOUR'),
      await openAccount(admin, await registerParty(admin, 'MEMBER', 'Cleo'), 'HOUR'),
    ];
    thirdAccount = c;
    other = await post(admin, 'TRANSFER', [
      { accountId: a, amount: '-1.00' },
      { accountId: b, amount: '1.00' },
    ]);
    // The transaction tampered with: every nullable column set.
    target = await post(
      admin,
      'ADJUSTMENT',
      [
        { accountId: b, amount: '-0.25' },
        { accountId: a, amount: '0.25' },
      ],
      { memo: 'garden help', metadata: { offer: 'garden', n: 1.5, tags: ['x'] }, externalRef: 'ref-1' },
    );
    await pay(admin, a, c, '0.10');
    otherKeyId =
      (
        await db
          .query<{ id: string }>('SELECT id FROM api_keys WHERE id <> (SELECT api_key_id FROM transactions WHERE id = $1) LIMIT 1', [
            target.id,
          ])
          .catch(() => ({ rows: [] as { id: string }[] }))
      ).rows[0]?.id ?? '';
    if (!otherKeyId) {
      await createKey(admin, 'AUDITOR');
      otherKeyId = (
        await db.query<{ id: string }>('SELECT id FROM api_keys WHERE id <> (SELECT api_key_id FROM transactions WHERE id = $1) LIMIT 1', [
          target.id,
        ])
      ).rows[0]!.id;
    }
    await db.query(`INSERT INTO networks (id, slug, name) VALUES ($1, 'elsewhere', 'Elsewhere')`, [otherNetwork]);
    expect(await verifyLedger(admin)).toMatchObject({ ok: true, transactionsChecked: 3 });
    expect(verifyJournal(await exportHours()).problem).toBeNull();
    expect((await db.query('SELECT hash_version FROM transactions WHERE id = $1', [target.id])).rows[0].hash_version).toBe(2);
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  const transactionColumns: [string, string][] = [
    ['id', `'${randomUUID()}'`],
    ['sequence', 'sequence + 100'],
    ['kind', `'TRANSFER'`],
    ['memo', `'quietly edited'`],
    ['metadata', `'{"n": 1.5, "offer": "orchard", "tags": ["x"]}'`],
    ['external_ref', `'ref-2'`],
    ['api_key_id', '$2'],
    ['posted_at', `posted_at + interval '1 microsecond'`],
    ['previous_hash', `repeat('1', 64)`],
    ['hash', `repeat('f', 64)`],
    ['reverses_id', '$3'],
    ['hash_version', '1'],
    ['network_id', '$4'],
  ];

  it.each(transactionColumns)('transactions.%s', async (column, value) => {
    const original = (await db.query(`SELECT ${column}::text AS v FROM transactions WHERE id = $1`, [target.id])).rows[0].v as
      string | null;
    await behindTheService(`UPDATE transactions SET ${column} = ${value} WHERE id = $1 AND ${ALL_PARAMS}`, [
      target.id,
      otherKeyId,
      other.id,
      otherNetwork,
    ]);
    const changedId =
      column === 'id' ? (await db.query('SELECT id FROM transactions WHERE sequence = $1', [target.sequence])).rows[0].id : target.id;
    try {
      const online = await verifyLedger(ledger.admin);
      expect([column, online.ok]).toEqual([column, false]);
      const offline = verifyJournal(await exportHours());
      expect([column, offline.ok]).toEqual([column, false]);
    } finally {
      await behindTheService(`UPDATE transactions SET ${column} = $2 WHERE id = $1`, [changedId, original]);
    }
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true });
    expect(verifyJournal(await exportHours()).problem).toBeNull();
  });

  const postingColumns: [string, string][] = [
    ['transaction_id', '$2'],
    ['idx', 'idx + 5'],
    ['account_id', '$3'],
    ['amount_minor', 'amount_minor + 1'],
    ['balance_after_minor', 'balance_after_minor + 1'],
    ['sequence', 'sequence + 100'],
    ['network_id', '$4'],
  ];

  it.each(postingColumns)('postings.%s', async (column, value) => {
    const original = (await db.query(`SELECT ${column}::text AS v FROM postings WHERE transaction_id = $1 AND idx = 1`, [target.id]))
      .rows[0].v as string;
    // transaction_id: the posting is moved out of its transaction (to an id no transaction has).
    await behindTheService(`UPDATE postings SET ${column} = ${value} WHERE transaction_id = $1 AND idx = 1 AND ${ALL_PARAMS}`, [
      target.id,
      orphan,
      thirdAccount,
      otherNetwork,
    ]);
    const where =
      column === 'transaction_id'
        ? `transaction_id = '${orphan}' AND idx = 1`
        : column === 'idx'
          ? `transaction_id = '${target.id}' AND idx = 6`
          : `transaction_id = '${target.id}' AND idx = 1`;
    try {
      const online = await verifyLedger(ledger.admin);
      expect([column, online.ok]).toEqual([column, false]);
      const offline = verifyJournal(await exportHours());
      expect([column, offline.ok]).toEqual([column, false]);
    } finally {
      await behindTheService(`UPDATE postings SET ${column} = $1 WHERE ${where}`, [original]);
    }
    expect(await verifyLedger(ledger.admin)).toMatchObject({ ok: true });
    expect(verifyJournal(await exportHours()).problem).toBeNull();
  });

  it('a rewrite that recomputes every hash is caught against a hash kept outside (throughHash)', async () => {
    const kept = (await db.query<{ hash: string }>('SELECT hash FROM transactions WHERE id = $1', [target.id])).rows[0]!.hash;
    expect(await ledger.admin.ok('query($h: String) { verifyLedger(throughHash: $h) { ok firstProblem } }', { h: kept })).toEqual({
      verifyLedger: { ok: true, firstProblem: null },
    });
    const unknown = 'a'.repeat(64);
    const result = await ledger.admin.ok<{ verifyLedger: { ok: boolean; firstProblem: string } }>(
      'query($h: String) { verifyLedger(throughHash: $h) { ok firstProblem } }',
      { h: unknown },
    );
    expect(result.verifyLedger.ok).toBe(false);
    expect(result.verifyLedger.firstProblem).toContain(`does not pass through the hash ${unknown}`);
    const bad = await ledger.admin.request('{ verifyLedger(throughHash: "nope") { ok } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('shows who posted a transaction to admins and auditors only', async () => {
    const query = 'query($id: ID!) { transaction(id: $id) { hashVersion postedBy { id role } } }';
    const asAdmin = await ledger.admin.ok<{ transaction: { hashVersion: number; postedBy: { id: string; role: string } | null } }>(query, {
      id: target.id,
    });
    const stored = (await db.query('SELECT api_key_id FROM transactions WHERE id = $1', [target.id])).rows[0].api_key_id;
    expect(asAdmin.transaction).toEqual({ hashVersion: 2, postedBy: { id: stored, role: 'ADMIN' } });
    const auditor = ledger.client(await createKey(ledger.admin, 'AUDITOR'));
    expect(
      (await auditor.ok<{ transaction: { postedBy: { id: string } | null } }>(query, { id: target.id })).transaction.postedBy?.id,
    ).toBe(stored);
    const anaParty = (
      await db.query('SELECT party_id FROM accounts a JOIN postings p ON p.account_id = a.id WHERE p.transaction_id = $1 LIMIT 1', [
        target.id,
      ])
    ).rows[0].party_id;
    const member = ledger.client(await createKey(ledger.admin, 'MEMBER', anaParty));
    const asMember = await member.request<{ transaction: { postedBy: unknown } }>(query, { id: target.id });
    expect(asMember.data?.transaction.postedBy ?? null).toBeNull();
  });
});
