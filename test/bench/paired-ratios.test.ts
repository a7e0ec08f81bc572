import { pairedRatios } from '../../bench/common';

/**
 * The A/B sections' round-by-round figure (bench/common.ts): each round of the tested setting over
 * the baseline round beside it, their mean, and the standard error that says how far one run's
 * figure can be trusted.
 */
describe('paired ratios of an A/B section', () => {
  it('gives each round over its neighbour, their mean and its standard error', () => {
    const paired = pairedRatios([2700, 3000, 2400], [3000, 3000, 3000]);
    expect(paired.ratios).toEqual([0.9, 1, 0.8]);
    expect(paired.mean).toBe(0.9);
    // Sample standard deviation 0.1 over the square root of three pairs.
    expect(paired.standardError).toBe(0.058);
  });

  it('pairs by position, not by size', () => {
    expect(pairedRatios([3000, 1000], [2000, 4000]).ratios).toEqual([1.5, 0.25]);
  });

  it('has no spread to judge by with one pair, and refuses rounds that do not pair', () => {
    expect(pairedRatios([2000], [4000])).toEqual({ ratios: [0.5], mean: 0.5, standardError: 0 });
    expect(() => pairedRatios([1, 2], [1])).toThrow(/2 rounds against 1/);
  });
});
