import fc from 'fast-check';
import { splitByWeights } from '../../src/credit-union/distribution';

const sum = (parts: readonly bigint[]) => parts.reduce((a, b) => a + b, 0n);

/** Inputs of a split: an amount of minor units and 1 to 60 positive integer weights. */
const splits = fc.tuple(
  fc.bigInt({ min: 1n, max: 10n ** 15n }),
  fc.array(
    fc.integer({ min: 1, max: 1_000_000 }).map((w) => BigInt(w)),
    { minLength: 1, maxLength: 60 },
  ),
);

describe('splitByWeights: largest-remainder split of minor units', () => {
  it('splits 100.00 over weights 1,1,1 into 33.34, 33.33, 33.33 (the tie goes to the share given first)', () => {
    expect(splitByWeights(10000n, [1n, 1n, 1n])).toEqual([3334n, 3333n, 3333n]);
  });

  it('splits 10.00 over weights 50,30,17 into 5.16, 3.09, 1.75', () => {
    expect(splitByWeights(1000n, [50n, 30n, 17n])).toEqual([516n, 309n, 175n]);
  });

  it('gives the leftover units to the largest remainders, not to the largest weights', () => {
    // Exact shares 0.4, 0.6 and 2.0 of 3 units: the one unit left goes to the 0.6 remainder.
    expect(splitByWeights(3n, [2n, 3n, 10n])).toEqual([0n, 1n, 2n]);
  });

  it('leaves a share that rounds to zero at zero', () => {
    expect(splitByWeights(1n, [1n, 1n, 1n])).toEqual([1n, 0n, 0n]);
    expect(splitByWeights(5n, [1n, 1000n])).toEqual([0n, 5n]);
  });

  it('refuses a zero amount and weights that are not greater than zero', () => {
    expect(() => splitByWeights(0n, [1n])).toThrow(RangeError);
    expect(() => splitByWeights(10n, [])).toThrow(RangeError);
    expect(() => splitByWeights(10n, [1n, 0n])).toThrow(RangeError);
    expect(() => splitByWeights(10n, [-1n, 2n])).toThrow(RangeError);
  });

  it('always sums exactly to the whole (property)', () => {
    fc.assert(
      fc.property(splits, ([amount, weights]) => {
        expect(sum(splitByWeights(amount, weights))).toBe(amount);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps every part within one minor unit of its exact share (property)', () => {
    fc.assert(
      fc.property(splits, ([amount, weights]) => {
        const total = sum(weights);
        splitByWeights(amount, weights).forEach((part, i) => {
          const w = weights[i] as bigint;
          // |part - amount * w / total| < 1, in integers: |part * total - amount * w| < total.
          const error = part * total - amount * w;
          expect(error < total && -error < total).toBe(true);
          expect(part >= 0n).toBe(true);
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the extra units to the largest remainders, ties to the share given first (property)', () => {
    fc.assert(
      fc.property(splits, ([amount, weights]) => {
        const total = sum(weights);
        const parts = splitByWeights(amount, weights);
        const rounded = weights.map((w, i) => (parts[i] as bigint) > (amount * w) / total);
        const remainder = weights.map((w) => (amount * w) % total);
        for (let i = 0; i < weights.length; i++) {
          for (let j = 0; j < weights.length; j++) {
            if (!rounded[i] || rounded[j]) continue;
            // i got an extra unit and j did not: i's remainder is larger, or equal and i comes first.
            const ri = remainder[i] as bigint;
            const rj = remainder[j] as bigint;
            expect(ri > rj || (ri === rj && i < j)).toBe(true);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic: the same input always gives the same parts (property)', () => {
    fc.assert(
      fc.property(splits, ([amount, weights]) => {
        expect(splitByWeights(amount, [...weights])).toEqual(splitByWeights(amount, [...weights]));
      }),
      { numRuns: 1000 },
    );
  });

  it('treats shares alike whatever their position, except for ties (property)', () => {
    fc.assert(
      fc.property(splits, ([amount, weights]) => {
        // Reversing the shares reverses the parts wherever no tie of remainders decides a unit.
        const total = sum(weights);
        const remainders = weights.map((w) => (amount * w) % total);
        fc.pre(new Set(remainders.map(String)).size === remainders.length);
        expect(splitByWeights(amount, [...weights].reverse())).toEqual(splitByWeights(amount, weights).reverse());
      }),
      { numRuns: 1000 },
    );
  });
});
