import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { enumOf } from '../../common/vocabulary';
import { CURRENCY_KINDS, type CurrencyKind as Kind } from '../posting/posting.types';
import { Party } from '../parties/party.model';

/** Declared once, in posting.types (CURRENCY_KINDS). */
export const CurrencyKind = enumOf(CURRENCY_KINDS);
export type CurrencyKind = Kind;
registerEnumType(CurrencyKind, { name: 'CurrencyKind' });

@ObjectType({ description: "Time credits (one hour of anyone's work is one credit) or a local dollar issued by a credit union." })
export class Currency {
  @Field()
  code!: string;

  @Field()
  name!: string;

  @Field(() => CurrencyKind)
  kind!: CurrencyKind;

  @Field(() => Int, { description: 'Decimal places of amounts in this currency.' })
  scale!: number;

  @Field(() => Party, { nullable: true, description: 'The credit union issuing a MONEY currency.' })
  issuer?: Party | null;

  issuerPartyId!: string | null;
  /** Codes repeat across networks: a currency is (network, code). */
  networkId!: string;
}
