import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { PageArgs } from '../graphql/pagination';
import { Allow, CurrentCaller } from '../identity/auth.guard';
import { type Caller, READERS } from '../identity/caller';
import { ReadKind, ReadRule } from '../identity/read-rules';
import { Account } from '../ledger/accounts/account.model';
import { AccountReader } from '../ledger/ledger-readers';
import { loadAccount } from '../ledger/holds/hold.resolver';
import type { LedgerEventType } from '../ledger/events/ledger-events';
import { Webhook, WebhookDelivery, WebhookDeliveryConnection, WebhookEvent, WebhookSecret } from './webhook.model';
import { WebhookService } from './webhook.service';

@Resolver(() => Webhook)
export class WebhookResolver {
  constructor(
    private readonly service: WebhookService,
    private readonly accounts: AccountReader,
  ) {}

  @Mutation(() => WebhookSecret, {
    description:
      'Registers a URL to be told of ledger events this key may read (of one account when accountId is given). The secret is shown once.',
  })
  @Allow(...READERS)
  createWebhook(
    @CurrentCaller() caller: Caller,
    @Args('url') url: string,
    @Args('events', { type: () => [WebhookEvent] }) events: LedgerEventType[],
    @Args('accountId', { type: () => ID, nullable: true }) accountId: string | null | undefined,
    @Args('description', { type: () => String, nullable: true }) description: string | null | undefined,
  ): Promise<WebhookSecret> {
    // An omitted optional argument arrives as undefined: the same as null (every account).
    return this.service.create(caller, { url, events, accountId: accountId ?? null, description: description ?? null });
  }

  @Mutation(() => Webhook, { description: 'Stops a webhook: nothing more is sent, pending deliveries end FAILED.' })
  @Allow(...READERS)
  deleteWebhook(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<Webhook> {
    return this.service.delete(caller, id);
  }

  @Query(() => [Webhook], { description: "The webhooks this key created (an ADMIN's: all of its network)." })
  @Allow(...READERS)
  webhooks(@CurrentCaller() caller: Caller): Promise<Webhook[]> {
    return this.service.list(caller);
  }

  @Query(() => WebhookDeliveryConnection, { description: "A webhook's deliveries, newest first." })
  @Allow(...READERS)
  webhookDeliveries(@CurrentCaller() caller: Caller, @Args('webhookId', { type: () => ID }) webhookId: string, @Args() page: PageArgs) {
    return this.service.deliveries(caller, { webhookId, first: page.first, after: page.after });
  }

  @Mutation(() => WebhookDelivery, { description: 'Sends one delivery again, with a fresh 24 hours of retries.' })
  @Allow(...READERS)
  replayWebhookDelivery(@CurrentCaller() caller: Caller, @Args('id', { type: () => ID }) id: string): Promise<WebhookDelivery> {
    return this.service.replay(caller, id);
  }

  @ResolveField(() => Account, { nullable: true, description: 'The one account it listens to, if any.' })
  @ReadRule(ReadKind.DIRECTORY)
  async account(@Parent() webhook: Webhook, @Context() context: object): Promise<Account | null> {
    return webhook.accountId ? loadAccount(context, this.accounts, webhook.accountId) : null;
  }
}
