import { Field, ID, ObjectType } from '@nestjs/graphql';
import { Connection } from '../../graphql/pagination';
import { AmountScalar } from '../../graphql/scalars/amount.scalar';
import { DateTimeScalar } from '../../graphql/scalars/date-time.scalar';

import { HOURS_SCALE, LISTING_KINDS, type ListingKind } from './listing.record';

// Declared with the record (the repository knows no GraphQL); exported here as before.
export { HOURS_SCALE, LISTING_KINDS, type ListingKind };

/** What offers and requests have in common; `party` and `exchange` are resolved from the ids. */
@ObjectType({ isAbstract: true })
export abstract class Listing {
  @Field(() => ID)
  id!: string;

  @Field()
  title!: string;

  @Field({ description: 'Lower-case; filters match it exactly.' })
  category!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => AmountScalar, { nullable: true, description: 'Estimated hours, with two decimals.' })
  hours!: string | null;

  @Field({ description: 'False once closed by its owner or a coordinator, or (for a request) fulfilled by an exchange.' })
  open!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  closedAt!: Date | null;

  kind!: ListingKind;
  seq!: string;
  partyId!: string;
  exchangeId!: string | null;
}

@ObjectType({ description: 'What a member can give ("what can I gift you?"). Stays open after exchanges until closed.' })
export class Offer extends Listing {}

@ObjectType('Request', { description: 'What a member needs ("what would you like to receive?"). Closes when an exchange fulfils it.' })
export class HelpRequest extends Listing {}

export const OfferConnection = Connection(Offer, 'Offer');
export const RequestConnection = Connection(HelpRequest, 'Request');
