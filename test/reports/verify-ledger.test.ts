import type { Client } from 'pg';
import { transactionHashV2 } from '../../src/ledger/posting/hash-chain';
import { parseInstant } from '../../src/common/instant';
import { verifyJournal } from '../../src/ledger/query/journal-verifier';
import { connect } from '../support/database';
import { createCurrency, openAccount, registerParty, startLedger, type TestLedger, verifyLedger } from '../support/ledger';
import { pay, post } from './helpers';

describe('verifyLedger and what reports rely on', () => {
  let ledger: TestLedger;
  let db: Client;
  let lastId: string;

  /** Runs `work` with the append-only triggers off, as someone with database access could. */
  async function behindTheService(work: () => Promise<void>): Promise<void> {
    await db.query('ALTER TABLE transactions DISABLE TRIGGER transactions_append_only');
    await db.query('ALTER TABLE postings DISABLE TRIGGER postings_append_only');
    try {
      await work();
    } finally {
      await db.query('ALTER TABLE transactions ENABLE TRIGGER transactions_append_only');
      await db.query('ALTER TABLE postings ENABLE TRIGGER postings_append_only');
    }
  }

  async function exportHours(): Promise<string> {
    return (await ledger.admin.ok('{ exportJournal(currency: "HOUR", format: HLEDGER) }')).exportJournal;
  }

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    const { admin } = ledger;
    await createCurrency(admin, 'HOUR', 'TIME', 2);
    await createCurrency(admin, 'SEED', 'TIME', 0);
    const ana = await registerParty(admin, 'MEMBER', 'Ana');
    const ben = await registerParty(admin, 'MEMBER', 'Ben');
    const [a, b, a2, b2] = [
      await openAccount(admin, ana, 'HOUR'),
      await openAccount(admin, ben, 'HOUR'),
      await openAccount(admin, ana, 'SEED'),
      await openAccount(admin, ben, 'SEED'),
    ];
    await pay(admin, a, b, '2.00');
    await post(admin, 'EXCHANGE', [
      { accountId: b, amount: '-1.00' },
      { accountId: a2, amount: '-4' },
      { accountId: a, amount: '1.00' },
      { accountId: b2, amount: '4' },
    ]);
    const mistake = await post(admin, 'TRANSFER', [
      { accountId: a, amount: '-0.30' },
      { accountId: b, amount: '0.30' },
    ]);
    await admin.ok('mutation($id: ID!) { reverseTransaction(id: $id, reason: "wrong amount", idempotencyKey: "r1") { id } }', {
      id: mistake.id,
    });
    lastId = (
      await post(admin, 'TRANSFER', [
        { accountId: b, amount: '-0.05' },
        { accountId: a, amount: '0.05' },
      ])
    ).id;
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('checks every transaction and account of an honest ledger in two currencies and finds nothing', async () => {
    expect(await verifyLedger(ledger.admin)).toEqual({ ok: true, transactionsChecked: 5, accountsChecked: 4, firstProblem: null });
    expect(verifyJournal(await exportHours()).problem).toBeNull();
  });

  /** The hash of the last transaction as stored now, recomputed as a forger with database access would. */
  async function forgedHash(postedAt?: Date): Promise<string> {
    const row = (
      await db.query('SELECT *, metadata::text AS metadata_text, posted_at::text AS posted_at_text FROM transactions WHERE id = $1', [
        lastId,
      ])
    ).rows[0];
    const postings = (
      await db.query(
        'SELECT idx, account_id, amount_minor, balance_after_minor, sequence FROM postings WHERE transaction_id = $1 ORDER BY idx',
        [lastId],
      )
    ).rows;
    return transactionHashV2({
      networkId: row.network_id,
      id: row.id,
      sequence: BigInt(row.sequence),
      kind: row.kind,
      postedAt: postedAt ?? parseInstant(row.posted_at_text),
      previousHash: row.previous_hash,
      memo: row.memo,
      metadataText: row.metadata_text,
      externalRef: row.external_ref,
      reversesId: row.reverses_id,
      apiKeyId: row.api_key_id,
      postings: postings.map((p) => ({
        idx: p.idx,
        accountId: p.account_id,
        amountMinor: BigInt(p.amount_minor),
        balanceAfterMinor: BigInt(p.balance_after_minor),
        sequence: BigInt(p.sequence),
      })),
    });
  }

  it('finds a posting whose stored sequence was changed, which statements and balances would misplace, even with the hash rewritten', async () => {
    const shift = async (by: number) => {
      await behindTheService(async () => {
        await db.query('UPDATE postings SET sequence = sequence + $2 WHERE transaction_id = $1 AND idx = 0', [lastId, by]);
        const hash = await forgedHash();
        await db.query('UPDATE transactions SET hash = $2 WHERE id = $1', [lastId, hash]);
        await db.query('UPDATE ledger_head SET hash = $1', [hash]);
      });
    };
    await shift(100);
    const result = await verifyLedger(ledger.admin);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatch(
      new RegExp(`^transaction #5 \\(${lastId}\\) has a posting of account [0-9a-f-]{36} that records sequence #105$`),
    );
    await shift(-100);
    expect((await verifyLedger(ledger.admin)).ok).toBe(true);
  });

  it('finds a transaction dated before the one it follows, even with its hash and the head rewritten to match', async () => {
    const row = (await db.query('SELECT posted_at::text AS posted_at_text FROM transactions WHERE id = $1', [lastId])).rows[0];
    const rewrite = async (postedAt: Date, postedAtText: string) => {
      const hash = await forgedHash(postedAt);
      await behindTheService(async () => {
        await db.query('UPDATE transactions SET posted_at = $2, hash = $3 WHERE id = $1', [lastId, postedAtText, hash]);
        await db.query('UPDATE ledger_head SET hash = $1', [hash]);
      });
    };
    await rewrite(new Date('2001-01-01T00:00:00Z'), '2001-01-01T00:00:00Z');
    const result = await verifyLedger(ledger.admin);
    expect(result.firstProblem).toMatch(
      /^transaction #5 \([0-9a-f-]+\) is dated 2001-01-01T00:00:00\.000000Z, before the transaction it follows/,
    );
    await rewrite(parseInstant(row.posted_at_text), row.posted_at_text);
    expect((await verifyLedger(ledger.admin)).ok).toBe(true);
  });

  it('a memo altered in the database makes both verifyLedger and the offline check of a new export fail', async () => {
    const id = (await db.query('SELECT id FROM transactions WHERE sequence = 2')).rows[0].id;
    await behindTheService(() => db.query(`UPDATE transactions SET memo = 'quietly edited' WHERE id = $1`, [id]).then());
    expect((await verifyLedger(ledger.admin)).firstProblem).toBe(`transaction #2 (${id}): its content does not match its hash`);
    const offline = verifyJournal(await exportHours());
    expect(offline.ok).toBe(false);
    expect(offline.problem).toMatch(new RegExp(`transaction #2 \\(${id}\\): its content does not match its hash`));
    await behindTheService(() => db.query('UPDATE transactions SET memo = NULL WHERE id = $1', [id]).then());
    expect((await verifyLedger(ledger.admin)).ok).toBe(true);
    expect(verifyJournal(await exportHours()).ok).toBe(true);
  });

  it('an auditor and a treasurer may verify; a member may not', async () => {
    const auditor = ledger.client((await ledger.admin.ok('mutation { createApiKey(role: AUDITOR) { secret } }')).createApiKey.secret);
    expect((await verifyLedger(auditor)).ok).toBe(true);
    const party = await registerParty(ledger.admin, 'MEMBER', 'Cleo');
    const member = ledger.client(
      (await ledger.admin.ok('mutation($p: ID!) { createApiKey(role: MEMBER, partyId: $p) { secret } }', { p: party })).createApiKey.secret,
    );
    expect(await member.code('{ verifyLedger { ok } }')).toBe('FORBIDDEN');
  });
});
