/**
 * Plain decimal notation: optional minus, digits, optional fraction. No exponent, no plus.
 * The Amount scalar (graphql/) and the money arithmetic (ledger/money/) both check text with it,
 * so it lives below both.
 */
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;
export const MAX_AMOUNT_TEXT_LENGTH = 40;

export function isDecimalText(text: string): boolean {
  return text.length <= MAX_AMOUNT_TEXT_LENGTH && DECIMAL_TEXT.test(text);
}
