import { Field, ID, ObjectType } from '@nestjs/graphql';
import { Role } from './caller';

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field()
  revoked!: boolean;

  @Field({ description: 'Creates networks and keys for any network (only ever an ADMIN key).' })
  deploymentAdmin!: boolean;

  /** Resolved to its Party by the ledger (ledger/parties/key-party.resolver.ts). */
  partyId!: string | null;
  networkId!: string;
}

@ObjectType({ description: "The only time a key's secret is shown: store it now." })
export class ApiKeySecret {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field()
  secret!: string;
}

@ObjectType()
export class Me {
  @Field(() => Role)
  role!: Role;

  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: 'Whether this key may create networks and keys for any network.' })
  deploymentAdmin!: boolean;

  partyId!: string | null;
  networkId!: string;
}
