import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Party } from '../parties/party.model';

export enum CurrencyKind {
  TIME = 'TIME',
  MONEY = 'MONEY',
}
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
}
