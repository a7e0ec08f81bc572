import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum PartyKind {
  MEMBER = 'MEMBER',
  COOPERATIVE = 'COOPERATIVE',
  CREDIT_UNION = 'CREDIT_UNION',
  LAND_TRUST = 'LAND_TRUST',
  COMMUNITY = 'COMMUNITY',
}
registerEnumType(PartyKind, { name: 'PartyKind' });

/** Organisations whose treasurers may read their members' statements. */
export const ORGANISATION_KINDS: readonly PartyKind[] = [
  PartyKind.COOPERATIVE,
  PartyKind.CREDIT_UNION,
  PartyKind.LAND_TRUST,
  PartyKind.COMMUNITY,
];

@ObjectType({ description: 'Anyone who holds accounts. Only a display name and an optional handle are kept.' })
export class Party {
  @Field(() => ID)
  id!: string;

  @Field(() => PartyKind)
  kind!: PartyKind;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  handle!: string | null;
}
