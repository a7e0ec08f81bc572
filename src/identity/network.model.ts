import { Field, ID, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: "One community's books: its parties, currencies, accounts, keys, sequence and hash chain." })
export class Network {
  @Field(() => ID)
  id!: string;

  @Field({ description: '2 to 40 of a-z, 0-9 and -.' })
  slug!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;
}
