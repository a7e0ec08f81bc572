import fc from 'fast-check';
import { fromMinor, isDecimalText, MAX_POSTING_MINOR, toMinor, toPositiveMinor } from '../src/ledger/money/amount';
import { DomainError } from '../src/common/domain-error';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
  return undefined;
}

describe('amounts: decimal text <-> minor units', () => {
  it('formats minor units with exactly the currency scale', () => {
    expect(fromMinor(150n, 2)).toBe('1.50');
    expect(fromMinor(-150n, 2)).toBe('-1.50');
    expect(fromMinor(0n, 2)).toBe('0.00');
    expect(fromMinor(5n, 3)).toBe('0.005');
    expect(fromMinor(-5n, 0)).toBe('-5');
    expect(fromMinor(123456789012345678901234567890n, 8)).toBe('1234567890123456789012.34567890');
  });

  it('parses decimal strings into exact minor units', () => {
    expect(toMinor('1.5', 2)).toBe(150n);
    expect(toMinor('-0.01', 2)).toBe(-1n);
    expect(toMinor('10', 0)).toBe(10n);
    expect(toMinor('0.00000001', 8)).toBe(1n);
    expect(toMinor('9999999999999.99', 2)).toBe(999999999999999n);
  });

  it('refuses exponents, signs, spaces, excess decimals and non-numbers with INVALID_AMOUNT', () => {
    for (const text of ['1e3', '+1', ' 1', '1 ', '1.', '.5', '0x10', 'NaN', 'Infinity', '1,5', '', '--1', '1.234']) {
      expect([text, codeOf(() => toMinor(text, 2))]).toEqual([text, 'INVALID_AMOUNT']);
    }
  });

  it('refuses zero, negative and oversized amounts where a positive amount is required', () => {
    expect(codeOf(() => toPositiveMinor('0', 2))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => toPositiveMinor('-1', 2))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => toPositiveMinor('10000000000000.01', 2))).toBe('INVALID_AMOUNT');
    expect(toPositiveMinor('10000000000000.00', 2)).toBe(MAX_POSTING_MINOR);
  });

  it('round-trips every integer of minor units at every scale (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 8 }), (minor, scale) => {
        const text = fromMinor(minor, scale);
        expect(isDecimalText(text)).toBe(true);
        expect(text.split('.')[1]?.length ?? 0).toBe(scale);
        expect(toMinor(text, scale)).toBe(minor);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses any decimal text within the scale to the integer its digits spell (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        (digits, places, scale, negative) => {
          fc.pre(places <= scale);
          const raw = digits.toString().padStart(places + 1, '0');
          const text = `${negative ? '-' : ''}${raw.slice(0, raw.length - places)}${places > 0 ? '.' + raw.slice(raw.length - places) : ''}`;
          const expected = digits * 10n ** BigInt(scale - places);
          expect(toMinor(text, scale)).toBe(negative ? -expected : expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps sums exact where floats would drift (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), { minLength: 1, maxLength: 50 }), (parts) => {
        const viaText = parts.map((p) => toMinor(fromMinor(p, 2), 2)).reduce((a, b) => a + b, 0n);
        expect(viaText).toBe(parts.reduce((a, b) => a + b, 0n));
      }),
    );
  });
});
