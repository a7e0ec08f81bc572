import fc from 'fast-check';
import { DomainError } from '../src/common/domain-error';
import { canonicalJson, GENESIS_HASH, hashPayload, transactionHash } from '../src/ledger/posting/hash-chain';
import {
  type AccountState,
  checkBalanced,
  checkLimit,
  checkMaxBalance,
  checkMovable,
  checkPostingShape,
  WorkingSet,
} from '../src/ledger/posting/posting.rules';

function account(id: string, overrides: Partial<AccountState> = {}): AccountState {
  return {
    id,
    partyId: `party-${id}`,
    currencyCode: 'HOUR',
    scale: 2,
    status: 'OPEN',
    creditLimitMinor: 1000n,
    maxBalanceMinor: null,
    unlimited: false,
    postedMinor: 0n,
    pendingDebitsMinor: 0n,
    pendingCreditsMinor: 0n,
    ...overrides,
  };
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
  return undefined;
}

describe('posting rules (pure, no database)', () => {
  it('accepts postings that sum to zero per currency and refuses any that do not (property)', () => {
    const accounts = new Map([
      ['a', account('a')],
      ['b', account('b')],
      ['m', account('m', { currencyCode: 'MKE' })],
      ['n', account('n', { currencyCode: 'MKE' })],
    ]);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: -5n, max: 5n }),
        (hours, money, skew) => {
          const postings = [
            { accountId: 'a', amountMinor: -hours },
            { accountId: 'b', amountMinor: hours + skew },
            { accountId: 'm', amountMinor: money },
            { accountId: 'n', amountMinor: -money },
          ];
          expect(codeOf(() => checkBalanced(postings, accounts))).toBe(skew === 0n ? undefined : 'UNBALANCED');
        },
      ),
    );
  });

  it('refuses zero amounts, oversized amounts, one posting and an account twice', () => {
    expect(codeOf(() => checkPostingShape([{ accountId: 'a', amountMinor: 1n }]))).toBe('VALIDATION_FAILED');
    expect(
      codeOf(() =>
        checkPostingShape([
          { accountId: 'a', amountMinor: 0n },
          { accountId: 'b', amountMinor: 0n },
        ]),
      ),
    ).toBe('INVALID_AMOUNT');
    expect(
      codeOf(() =>
        checkPostingShape([
          { accountId: 'a', amountMinor: -(10n ** 15n + 1n) },
          { accountId: 'b', amountMinor: 10n ** 15n + 1n },
        ]),
      ),
    ).toBe('INVALID_AMOUNT');
    expect(
      codeOf(() =>
        checkPostingShape([
          { accountId: 'a', amountMinor: -1n },
          { accountId: 'a', amountMinor: 1n },
        ]),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(
      codeOf(() =>
        checkPostingShape([
          { accountId: 'a', amountMinor: -(10n ** 15n) },
          { accountId: 'b', amountMinor: 10n ** 15n },
        ]),
      ),
    ).toBeUndefined();
  });

  it('refuses frozen and closed accounts', () => {
    expect(codeOf(() => checkMovable(account('a', { status: 'FROZEN' })))).toBe('ACCOUNT_FROZEN');
    expect(codeOf(() => checkMovable(account('a', { status: 'CLOSED' })))).toBe('ACCOUNT_CLOSED');
    expect(codeOf(() => checkMovable(account('a')))).toBeUndefined();
  });

  it('holds an account to its limit only when its available balance fell, and never an unlimited one', () => {
    const below = account('a', { postedMinor: -1001n });
    expect(codeOf(() => checkLimit(below, 0n))).toBe('INSUFFICIENT_FUNDS');
    expect(codeOf(() => checkLimit(below, -1500n))).toBeUndefined();
    expect(codeOf(() => checkLimit(account('a', { postedMinor: -1000n }), 0n))).toBeUndefined();
    expect(codeOf(() => checkLimit(account('a', { postedMinor: 0n, pendingDebitsMinor: 1001n }), 0n))).toBe('INSUFFICIENT_FUNDS');
    expect(codeOf(() => checkLimit(account('a', { unlimited: true, postedMinor: -(10n ** 18n) }), 0n))).toBeUndefined();
  });

  it('holds an account to its maximum balance only when posted + pendingCredits rose, counting holds at once, naming no number', () => {
    const capped = (posted: bigint, pendingCredits = 0n) =>
      account('a', { maxBalanceMinor: 500n, postedMinor: posted, pendingCreditsMinor: pendingCredits });
    expect(codeOf(() => checkMaxBalance(capped(500n), 0n))).toBeUndefined();
    expect(codeOf(() => checkMaxBalance(capped(501n), 0n))).toBe('BALANCE_LIMIT_EXCEEDED');
    expect(codeOf(() => checkMaxBalance(capped(300n, 201n), 300n))).toBe('BALANCE_LIMIT_EXCEEDED');
    // Already above (the bound was lowered later): falling or staying is allowed, rising is not.
    expect(codeOf(() => checkMaxBalance(capped(700n), 800n))).toBeUndefined();
    expect(codeOf(() => checkMaxBalance(capped(700n), 700n))).toBeUndefined();
    expect(codeOf(() => checkMaxBalance(capped(701n), 700n))).toBe('BALANCE_LIMIT_EXCEEDED');
    expect(codeOf(() => checkMaxBalance(account('a', { postedMinor: 10n ** 17n }), 0n))).toBeUndefined();
    try {
      checkMaxBalance(capped(12345n), 0n);
    } catch (error) {
      expect((error as Error).message).not.toMatch(/\d{3}|123|5\.00/);
    }
  });

  it('rolls a refused command back to exactly the balances the previous command left (property)', () => {
    const change = fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.bigInt({ min: -(10n ** 6n), max: 10n ** 6n }));
    const command = fc.record({ changes: fc.array(change, { minLength: 1, maxLength: 6 }), refused: fc.boolean() });
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        const set = new WorkingSet(new Map(['a', 'b', 'c'].map((id) => [id, account(id)])));
        const committed = new Map([
          ['a', 0n],
          ['b', 0n],
          ['c', 0n],
        ]);
        for (const { changes, refused } of commands) {
          for (const [id, delta] of changes) set.change(id, { postedMinor: delta });
          if (refused) {
            set.rollback();
          } else {
            set.commit();
            for (const [id, delta] of changes) committed.set(id, (committed.get(id) ?? 0n) + delta);
          }
          for (const [id, value] of committed) expect(set.get(id).postedMinor).toBe(value);
        }
      }),
    );
  });

  it('writes exactly the canonical text of the first release for any value, so stored request hashes still match', () => {
    // The first release's canonicalJson, kept here as the specification: idempotency records
    // store a SHA-256 of this text, so a retry after an upgrade must hash to the same value.
    const reference = (value: unknown): string => {
      if (value === null || value === undefined) return 'null';
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      if (typeof value === 'object') {
        const entries = Object.entries(value as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
      }
      if (typeof value === 'bigint') return JSON.stringify(value.toString());
      return JSON.stringify(value);
    };
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(undefined),
        fc.constant(null),
        fc.boolean(),
        fc.double(),
        fc.bigInt(),
        fc.string({ unit: 'binary' }),
        fc.array(tie('value')),
        fc.dictionary(fc.string({ unit: 'binary' }), tie('value')),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => canonicalJson(v) === reference(v)),
      { numRuns: 2000 },
    );
  });

  it('chains hashes over a canonical text that any language can rebuild', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
    const tx = {
      id: '11111111-1111-4111-8111-111111111111',
      sequence: 1n,
      kind: 'TRANSFER',
      postedAt: new Date('2026-11-23T18:00:00.000Z'),
      previousHash: GENESIS_HASH,
      memo: 'garden help',
      metadata: { b: 2, a: 1 },
      externalRef: null,
      reversesId: null,
      postings: [
        { accountId: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', amountMinor: -150n },
        { accountId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', amountMinor: 150n },
      ],
    };
    expect(hashPayload(tx)).toBe(
      '[1,"1","11111111-1111-4111-8111-111111111111","TRANSFER","2026-11-23T18:00:00.000Z","' +
        GENESIS_HASH +
        '","garden help",{"a":1,"b":2},null,null,[["aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","-150"],["bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb","150"]]]',
    );
    expect(transactionHash(tx)).toMatch(/^[0-9a-f]{64}$/);
    const generic = canonicalJson([
      1,
      '1',
      tx.id,
      tx.kind,
      tx.postedAt.toISOString(),
      tx.previousHash,
      tx.memo,
      tx.metadata,
      tx.externalRef,
      tx.reversesId,
      tx.postings.map((p) => [p.accountId, p.amountMinor.toString()]),
    ]);
    expect(hashPayload(tx)).toBe(generic);
    const quoted = { ...tx, memo: 'a "quoted" memo, with \\ and \n', metadata: null, externalRef: 'ref-1', reversesId: tx.id };
    expect(hashPayload(quoted)).toBe(
      canonicalJson([
        1,
        '1',
        tx.id,
        tx.kind,
        tx.postedAt.toISOString(),
        tx.previousHash,
        quoted.memo,
        null,
        'ref-1',
        tx.id,
        tx.postings.map((p) => [p.accountId, p.amountMinor.toString()]),
      ]),
    );
    expect(transactionHash({ ...tx, memo: 'garden help!' })).not.toBe(transactionHash(tx));
    expect(transactionHash({ ...tx, postings: [tx.postings[0]!, { ...tx.postings[1]!, amountMinor: 151n }] })).not.toBe(
      transactionHash(tx),
    );
  });
});
