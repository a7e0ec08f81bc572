import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { compareInstants } from '../common/instant';
import { Database } from '../database/database';
import type { Caller, Role } from '../identity/caller';
import { ReadRules } from '../identity/read-rules';
import { type ClaimedRow, type ListenerRow, type NewDelivery, type PendingEventRow, WebhookRepository } from './webhook.repository';

/** Events of one network fanned out per transaction: bounded, so one round never holds its locks for long. */
const EVENTS_PER_ROUND = 500;

/**
 * Turns outbox events into deliveries, one per matching webhook. A webhook matches an event of
 * its network when it listens for the event's type, was created before the event, its account
 * (if it names one) is among the event's, and its creating key may read one of the event's
 * accounts: the read rule of transactions and holds (`ReadRules`, SPEC B.1 and B.7), so a key is
 * sent exactly the events whose objects it may read through the API.
 * Deliveries are written and the network's fan-out cursor moved past their events in one
 * transaction, and SKIP LOCKED on the cursors lets several instances fan out side by side (each
 * its own networks): an event is fanned out once. The instance that fans an event out also
 * claims its deliveries (as far as it has room), so a delivery that succeeds at once is one row
 * written and one update: no separate claim.
 */
@Injectable()
export class WebhookFanOut {
  constructor(
    private readonly db: Database,
    private readonly webhooks: WebhookRepository,
    private readonly rules: ReadRules,
  ) {}

  /**
   * Fans out one round; returns how many events it took (0: nothing was waiting; `full`: a whole
   * batch, more may wait) and the deliveries it claimed for this instance: those `claim` accepts
   * are written as attempts under way (leased for `leaseMs`), so the first attempt of a delivery
   * costs no claim of its own; the rest are left due for any instance.
   */
  async round(claim: (webhookId: string) => boolean, leaseMs: number): Promise<{ events: number; full: boolean; claimed: ClaimedRow[] }> {
    return this.db.transaction(async (tx) => {
      const events = await this.webhooks.takePendingEvents(tx, EVENTS_PER_ROUND);
      if (events.length === 0) return { events: 0, full: false, claimed: [] };
      const listeners = await this.webhooks.listeners(tx);
      const deliveries: NewDelivery[] = [];
      const readable = new Map<string, boolean>();
      for (const event of events) {
        for (const webhook of listeners) {
          if (await this.matches(webhook, event, readable))
            deliveries.push({ webhook, event, id: randomUUID(), claimed: claim(webhook.id) });
        }
      }
      await this.webhooks.insertDeliveries(tx, deliveries, leaseMs);
      await this.webhooks.advanceFanOut(tx, events);
      return {
        events: events.length,
        full: fullBatch(events),
        claimed: deliveries.filter((d) => d.claimed).map(claimedRow),
      };
    });
  }

  /** `readable` remembers, for this round, whether a webhook's key may read an account (the events of a round share many). */
  private async matches(webhook: ListenerRow, event: PendingEventRow, readable: Map<string, boolean>): Promise<boolean> {
    if (webhook.network_id !== event.network_id || !webhook.events.includes(event.type)) return false;
    // To the microsecond: a webhook created in the same millisecond just after an event does not hear it.
    if (compareInstants(webhook.created_at, event.occurred_at) > 0) return false;
    if (webhook.account_id !== null && !event.account_ids.includes(webhook.account_id)) return false;
    // An event may be read when one of its accounts may be: asked account by account, so each answer serves the round.
    for (const accountId of event.account_ids) {
      const key = `${webhook.id}:${accountId}`;
      let may = readable.get(key);
      if (may === undefined) {
        may = await this.canRead(webhook, accountId);
        readable.set(key, may);
      }
      if (may) return true;
    }
    return false;
  }

  private canRead(webhook: ListenerRow, accountId: string): Promise<boolean> {
    const caller: Caller = {
      apiKeyId: webhook.api_key_id,
      role: webhook.role as Role,
      partyId: webhook.party_id,
      networkId: webhook.network_id,
      deploymentAdmin: false,
    };
    // The read rule of transactions and holds themselves (one source: the API and the webhooks cannot drift apart).
    return this.rules.canRead(caller, { accountIds: [accountId] });
  }
}

/** Whether some network gave a whole batch (more of it may wait). */
function fullBatch(events: readonly PendingEventRow[]): boolean {
  const perNetwork = new Map<string, number>();
  for (const e of events) perNetwork.set(e.network_id, (perNetwork.get(e.network_id) ?? 0) + 1);
  return [...perNetwork.values()].some((n) => n >= EVENTS_PER_ROUND);
}

function claimedRow(d: NewDelivery): ClaimedRow {
  return {
    network_id: d.event.network_id,
    id: d.id,
    webhook_id: d.webhook.id,
    attempts: 1,
    url: d.webhook.url,
    secret_ciphertext: d.webhook.secret_ciphertext,
    stopped: null,
    event_id: d.event.id,
    event_type: d.event.type,
    occurred_at: d.event.occurred_at,
    data: d.event.data,
  };
}
