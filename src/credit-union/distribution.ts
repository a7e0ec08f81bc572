/**
 * The arithmetic of a distribution (royalty split), with no database and no floats: an amount
 * of minor units split by integer weights, exact to the minor unit.
 *
 * Each share first gets the whole minor units of its exact share, floor(amount * weight / total).
 * The few minor units left over (fewer than the number of shares) go one each to the shares with
 * the largest remainders (largest-remainder method); equal remainders go to the share given
 * first. So the parts always sum to the whole, each part is within one minor unit of its exact
 * share, and the same input always gives the same parts.
 */

/** Most shares in one distribution: with the payer, the most postings one transaction holds. */
export const MAX_SHARES = 1000;

/** Splits `amountMinor` (> 0) by `weights` (integers > 0), in the order given. */
export function splitByWeights(amountMinor: bigint, weights: readonly bigint[]): bigint[] {
  if (amountMinor <= 0n) throw new RangeError('the amount to split must be greater than zero');
  if (weights.length === 0) throw new RangeError('a split needs at least one weight');
  if (weights.some((w) => w <= 0n)) throw new RangeError('weights must be greater than zero');
  const totalWeight = weights.reduce((sum, w) => sum + w, 0n);
  const parts = weights.map((w) => (amountMinor * w) / totalWeight);
  const remainders = weights.map((w) => (amountMinor * w) % totalWeight);
  let leftover = amountMinor - parts.reduce((sum, p) => sum + p, 0n);
  // Largest remainder first; the stable sort keeps the order given among equal remainders.
  const order = weights.map((_, i) => i).sort((a, b) => compareDescending(remainders[a] ?? 0n, remainders[b] ?? 0n));
  for (const index of order) {
    if (leftover === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    leftover -= 1n;
  }
  // The leftover is the sum of remainders divided by the total weight, so fewer than one per share.
  if (leftover !== 0n) throw new Error('largest-remainder split did not place every minor unit');
  return parts;
}

function compareDescending(a: bigint, b: bigint): number {
  return a > b ? -1 : a < b ? 1 : 0;
}
