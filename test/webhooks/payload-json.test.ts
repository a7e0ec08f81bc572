import { type PostedFacts, transactionPostedData, transactionPostedJson, type UnitOf } from '../../src/ledger/events/ledger-events';

/**
 * A TRANSACTION_POSTED payload is written out directly (`transactionPostedJson`) when the webhook
 * fan-out builds it, and as `JSON.stringify` of `transactionPostedData` inside a posting group's
 * event document: the bytes must be the same, or a receiver would see one event in two forms.
 */
describe('TRANSACTION_POSTED payload text', () => {
  const units: Record<string, { currencyCode: string; scale: number }> = {
    '0194f3a2-0000-7000-8000-000000000001': { currencyCode: 'HOUR', scale: 2 },
    '0194f3a2-0000-7000-8000-000000000002': { currencyCode: 'HOUR', scale: 2 },
    '0194f3a2-0000-7000-8000-000000000003': { currencyCode: 'LOCAL_$"\\', scale: 0 },
  };
  const unitOf: UnitOf = (accountId) => units[accountId] as { currencyCode: string; scale: number };
  const facts = (memo: string | null, postings: PostedFacts['postings'], kind = 'TRANSFER'): PostedFacts => ({
    id: '0194f3a2-1111-7000-8000-00000000abcd',
    sequence: '9007199254740993',
    kind,
    memo,
    postedAt: '2026-12-01T19:28:48.123456Z',
    hash: 'ab'.repeat(32),
    postings,
  });
  const two: PostedFacts['postings'] = [
    { accountId: '0194f3a2-0000-7000-8000-000000000001', amountMinor: -125n },
    { accountId: '0194f3a2-0000-7000-8000-000000000002', amountMinor: 125n },
  ];
  const memos = [
    null,
    '',
    'plain',
    'quotes " and \\ backslash, tab\t, newline\n, NUL \u0000, DEL \u007f, bell \u0007',
    'non-ASCII: Gärtnerei, 时间银行, emoji 🌱, line separator \u2028 and \u2029',
    'a lone surrogate \ud800 and a reversed pair \udc00\ud800',
    '</script><script>alert(1)</script>',
  ];

  it.each(memos.map((memo) => [JSON.stringify(memo), memo]))('memo %s: the same text as JSON.stringify', (_name, memo) => {
    const f = facts(memo, two);
    expect(transactionPostedJson(f, unitOf)).toBe(JSON.stringify(transactionPostedData(f, unitOf)));
  });

  it('one posting, many postings, a currency code JSON must escape, scale 0, and the smallest amounts', () => {
    const many: PostedFacts['postings'] = [
      { accountId: '0194f3a2-0000-7000-8000-000000000003', amountMinor: -1n },
      { accountId: '0194f3a2-0000-7000-8000-000000000001', amountMinor: 1n },
      { accountId: '0194f3a2-0000-7000-8000-000000000002', amountMinor: -100000000000000n },
      { accountId: '0194f3a2-0000-7000-8000-000000000003', amountMinor: 0n },
    ];
    for (const postings of [[two[0] as PostedFacts['postings'][number]], many, []]) {
      const f = facts('m', postings, 'REVERSAL');
      expect(transactionPostedJson(f, unitOf)).toBe(JSON.stringify(transactionPostedData(f, unitOf)));
    }
    expect(JSON.parse(transactionPostedJson(facts(null, many), unitOf)).transaction.postings[0]).toEqual({
      accountId: '0194f3a2-0000-7000-8000-000000000003',
      amount: '-1',
      currency: 'LOCAL_$"\\',
    });
  });
});
