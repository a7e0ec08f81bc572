import { AmountScalar } from './amount.scalar';
import { DateTimeScalar } from './date-time.scalar';

/** Any field typed as a JS `Date` uses the strict DateTime scalar. */
export const SCALARS_MAP = [{ type: Date, scalar: DateTimeScalar }];
export { AmountScalar, DateTimeScalar };
