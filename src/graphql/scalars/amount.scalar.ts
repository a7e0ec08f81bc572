import { GraphQLScalarType, Kind } from 'graphql';
import { DomainError, ErrorCode } from '../../common/domain-error';
import { isDecimalText } from '../../common/decimal-text';

/**
 * `Amount`: a decimal string such as "1.50". JSON numbers, exponents, signs other than a
 * leading minus, and text that is not a number are refused with INVALID_AMOUNT. The currency's
 * scale is checked where the currency is known (the posting module); responses are already
 * written with exactly the currency's scale by the resolvers.
 */
function parse(value: unknown): string {
  if (typeof value !== 'string') {
    throw new DomainError(ErrorCode.INVALID_AMOUNT, 'Amounts are decimal strings such as "12.50", never JSON numbers');
  }
  if (!isDecimalText(value)) {
    throw new DomainError(ErrorCode.INVALID_AMOUNT, `"${value.slice(0, 40)}" is not a decimal amount such as "12.50"`);
  }
  return value;
}

export const AmountScalar = new GraphQLScalarType<string, string>({
  name: 'Amount',
  description: 'A decimal string such as "1.50", written with exactly the currency\'s scale.',
  serialize(value) {
    if (typeof value !== 'string' || !isDecimalText(value)) throw new Error('Amount values must be formatted decimal strings');
    return value;
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) {
      throw new DomainError(ErrorCode.INVALID_AMOUNT, 'Amounts are decimal strings such as "12.50", never JSON numbers');
    }
    return parse(ast.value);
  },
});
