import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';

import { ORGANISATION_KINDS, PartyKind } from './party.record';

// The vocabulary lives with the record (the repository knows no GraphQL); GraphQL names it here.
registerEnumType(PartyKind, { name: 'PartyKind' });
export { ORGANISATION_KINDS, PartyKind };

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
