import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { notFound, validationFailed } from '../common/domain-error';
import { checkId } from '../common/ids';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../graphql/pagination';
import { AccessService } from '../identity/access.service';
import { type Caller, Role } from '../identity/caller';
import { AccountReader } from '../ledger/ledger-readers';
import { LEDGER_EVENT_TYPES, type LedgerEventType } from '../ledger/events/ledger-events';
import { cleanText } from '../common/text';
import { checkTarget } from './ssrf';
import { newWebhookSecret, type SecretBox, WEBHOOK_SECRET_BOX } from './webhook-secrets';
import { toDeliveryModel, toWebhookModel } from './webhook.mapper';
import type { Webhook, WebhookDelivery, WebhookSecret } from './webhook.model';
import type { WebhookRecord } from './webhook.record';
import { WebhookRepository } from './webhook.repository';

export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 500;
/** Live webhooks one key may have: each costs a delivery per event it hears. */
export const MAX_WEBHOOKS_PER_KEY = 20;

export interface CreateWebhookInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly accountId: string | null;
  readonly description: string | null;
}

/**
 * Webhooks (SPEC B.7). A key registers a URL for the events it may read: ADMIN and AUDITOR of
 * any account, TREASURER of its organisation's (and members'), INTEGRATION of its currency's,
 * MEMBER of its own; naming an account narrows it to that account, which the key must be able
 * to read. A key sees and manages the webhooks it created; an ADMIN those of its whole network.
 */
@Injectable()
export class WebhookService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: SecretBox | null,
    private readonly webhooks: WebhookRepository,
    private readonly accounts: AccountReader,
    private readonly access: AccessService,
  ) {}

  async create(caller: Caller, input: CreateWebhookInput): Promise<WebhookSecret> {
    const events = checkEvents(input.events);
    const description = cleanText(input.description, 'description', MAX_WEBHOOK_DESCRIPTION_LENGTH, false);
    const accountId = input.accountId === null ? null : checkId(input.accountId, 'accountId');
    if (accountId !== null) await this.access.assertCanRead(caller, await this.accounts.requireFact(caller.networkId, accountId));
    const url = await checkTarget(input.url, this.config.webhookAllowPrivate);
    if ((await this.webhooks.list(caller.apiKeyId, caller.apiKeyId)).length >= MAX_WEBHOOKS_PER_KEY) {
      throw validationFailed('url', `a key may have at most ${MAX_WEBHOOKS_PER_KEY} webhooks`);
    }
    if (!this.box) throw new Error('webhook secrets cannot be sealed: set WEBHOOK_SECRET_KEY (or ADMIN_API_KEY)');
    const id = randomUUID();
    const secret = newWebhookSecret();
    const row = await this.webhooks.insert({
      id,
      apiKeyId: caller.apiKeyId,
      url: url.toString(),
      events,
      accountId,
      description,
      sealedSecret: this.box.seal(secret, id),
    });
    return { webhook: toWebhookModel(row), secret };
  }

  async list(caller: Caller): Promise<Webhook[]> {
    return (await this.webhooks.list(caller.apiKeyId, caller.role === Role.ADMIN ? null : caller.apiKeyId)).map(toWebhookModel);
  }

  async delete(caller: Caller, id: string): Promise<Webhook> {
    const webhook = await this.mine(caller, id);
    const deleted = await this.webhooks.delete(webhook.networkId, webhook.id);
    if (!deleted) throw notFound('webhook', id);
    return toWebhookModel(deleted);
  }

  async deliveries(
    caller: Caller,
    args: { webhookId: string; first?: number | null; after?: string | null },
  ): Promise<ConnectionShape<WebhookDelivery>> {
    const size = pageSize(args.first);
    const cursor = decodeCursor(args.after, ['string']);
    const beforeSeq = cursor ? (cursor[0] as string) : null;
    if (beforeSeq !== null && !/^\d{1,19}$/.test(beforeSeq)) throw validationFailed('after', 'not a cursor returned by this list');
    const webhook = await this.mine(caller, args.webhookId);
    const rows = await this.webhooks.deliveries(webhook.networkId, webhook.id, beforeSeq, size + 1);
    return toConnection(rows, size, toDeliveryModel, (r) => [r.seq]);
  }

  /** Sends one delivery again (whatever its status), with a fresh 24 hours of retries. */
  async replay(caller: Caller, id: string): Promise<WebhookDelivery> {
    const delivery = await this.webhooks.findDelivery(caller.apiKeyId, checkId(id));
    if (!delivery) throw notFound('webhook delivery', id);
    const webhook = await this.mine(caller, delivery.webhookId, 'webhook delivery', id);
    await this.webhooks.replay(webhook.networkId, delivery.id);
    const replayed = await this.webhooks.findDelivery(caller.apiKeyId, delivery.id);
    if (!replayed) throw notFound('webhook delivery', id);
    return toDeliveryModel(replayed);
  }

  /** A live webhook this key manages; another's is NOT_FOUND, not FORBIDDEN, so its existence stays private. */
  private async mine(caller: Caller, id: string, what = 'webhook', shownId = id): Promise<WebhookRecord> {
    const row = await this.webhooks.find(caller.apiKeyId, checkId(id));
    if (!row || (caller.role !== Role.ADMIN && row.apiKeyId !== caller.apiKeyId)) throw notFound(what, shownId);
    return row;
  }
}

function checkEvents(events: readonly string[]): LedgerEventType[] {
  if (events.length === 0) throw validationFailed('events', 'name at least one event');
  const known = new Set<string>(LEDGER_EVENT_TYPES);
  const unknown = events.find((e) => !known.has(e));
  if (unknown !== undefined) throw validationFailed('events', `unknown event ${unknown}`);
  return [...new Set(events)] as LedgerEventType[];
}
