import fc from 'fast-check';
import { epochMicros, fromEpochMicros, instantOfIsoMicros, isoMicros, PreciseDate } from '../src/common/instant';

/** The text isoMicros gave before it kept the last millisecond's text. */
function reference(date: Date): string {
  const micros = date instanceof PreciseDate ? date.microsOfMilli : 0;
  return `${date.toISOString().slice(0, -1)}${micros.toString().padStart(3, '0')}Z`;
}

describe('isoMicros', () => {
  it('prints six decimals in UTC, whatever instant came before (the last millisecond is reused)', () => {
    const instant = fc.oneof(
      fc.record({ ms: fc.integer({ min: -62_000_000_000_000, max: 250_000_000_000_000 }), micros: fc.integer({ min: 0, max: 999 }) }),
      // Runs within one millisecond, as a posting group dates its transactions.
      fc.record({ ms: fc.constantFrom(1_764_000_000_000, 1_764_000_000_001), micros: fc.integer({ min: 0, max: 999 }) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(instant, fc.boolean()), { minLength: 1, maxLength: 30 }), (instants) => {
        for (const [{ ms, micros }, precise] of instants) {
          const date = precise ? new PreciseDate(ms, micros) : new Date(ms);
          expect(isoMicros(date)).toBe(reference(date));
        }
      }),
    );
  });

  it('round-trips a group of transactions dated a microsecond apart', () => {
    const start = epochMicros(new PreciseDate(1_764_000_000_999, 998));
    const texts = [0n, 1n, 2n, 3n].map((i) => isoMicros(fromEpochMicros(start + i)));
    expect(texts).toEqual([
      '2025-11-24T16:00:00.999998Z',
      '2025-11-24T16:00:00.999999Z',
      '2025-11-24T16:00:01.000000Z',
      '2025-11-24T16:00:01.000001Z',
    ]);
  });
});

describe('instantOfIsoMicros', () => {
  const instant = fc.record({
    ms: fc.integer({ min: -62_000_000_000_000, max: 250_000_000_000_000 }),
    micros: fc.integer({ min: 0, max: 999 }),
  });

  it('reads the instant isoMicros printed, to the microsecond, and prints the same text', () => {
    fc.assert(
      fc.property(instant, ({ ms, micros }) => {
        const text = isoMicros(new PreciseDate(ms, micros));
        const read = instantOfIsoMicros(text);
        expect(epochMicros(read)).toBe(BigInt(ms) * 1000n + BigInt(micros));
        expect(read.toISOString()).toBe(new Date(ms).toISOString());
        expect(isoMicros(read)).toBe(text);
      }),
    );
  });

  it('prints the new instant, not the text it was read from, once the date is set to another', () => {
    const read = instantOfIsoMicros('2026-11-30T12:00:00.123456Z');
    read.setTime(Date.UTC(2027, 0, 1));
    expect(isoMicros(read)).toBe('2027-01-01T00:00:00.000456Z');
  });

  it('refuses any other form of text', () => {
    for (const text of [
      '2026-11-30T12:00:00.123Z',
      '2026-11-30T12:00:00.123456+01:00',
      '2026-11-30 12:00:00.123456Z',
      '2026-13-40T12:00:00.123456Z',
      '',
    ]) {
      expect(() => instantOfIsoMicros(text)).toThrow('not an instant');
    }
  });
});
