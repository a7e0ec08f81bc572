import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { LEDGER_EVENT_TYPES, type LedgerEventType } from '../ledger/events/ledger-events';
import { Connection } from '../graphql/pagination';
import { DateTimeScalar } from '../graphql/scalars/date-time.scalar';

export const WebhookEvent = Object.fromEntries(LEDGER_EVENT_TYPES.map((t) => [t, t])) as { [K in LedgerEventType]: K };
registerEnumType(WebhookEvent, { name: 'WebhookEvent' });

export enum DeliveryStatus {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });

@ObjectType({ description: 'An HTTPS (or HTTP) endpoint told of ledger events the key that created it may read (docs/webhooks.md).' })
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field()
  url!: string;

  @Field(() => [WebhookEvent])
  events!: LedgerEventType[];

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  networkId!: string;
  accountId!: string | null;
  apiKeyId!: string;
}

@ObjectType({ description: 'A new webhook and its signing secret, shown this once.' })
export class WebhookSecret {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field({ description: 'HMAC-SHA256 key of the Ledger-Signature header. Shown once; keep it safe.' })
  secret!: string;
}

@ObjectType({ description: 'One event owed to one webhook, and how sending it went.' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The event id (the `id` of the body), the same in every attempt and replay.' })
  eventId!: string;

  @Field(() => WebhookEvent)
  event!: LedgerEventType;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatus;

  @Field(() => Int)
  attempts!: number;

  @Field(() => Int, { nullable: true })
  lastStatusCode!: number | null;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it is next sent, while PENDING.' })
  nextAttemptAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  deliveredAt!: Date | null;

  networkId!: string;
  seq!: string;
  webhookId!: string;
}

export const WebhookDeliveryConnection = Connection(WebhookDelivery, 'WebhookDelivery');
