import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { timeOrderedUuid } from '../common/ids';
import { nextTurn } from '../common/event-loop';
import { compareInstants } from '../common/instant';
import { Database } from '../database/database';
import type { Caller, Role } from '../identity/caller';
import { ReadRules } from '../identity/read-rules';
import { RoundDeliveryIds } from './delivery-ids';
import {
  type ClaimedRow,
  type ListenerRow,
  type NewDelivery,
  type PendingEventRow,
  type RoundDelivery,
  WebhookRepository,
} from './webhook.repository';

/** Events of one network fanned out per transaction: bounded, so one round never holds its locks for long. */
const EVENTS_PER_ROUND = 500;
/** Events matched against the webhooks in one stretch of the event loop. */
const EVENTS_PER_SLICE = 128;

/**
 * Turns outbox events into deliveries, one per matching webhook. A webhook matches an event of
 * its network when it listens for the event's type, was created before the event, its account
 * (if it names one) is among the event's, and its creating key may read one of the event's
 * accounts: the read rule of transactions and holds (`ReadRules`, SPEC B.1 and B.7), so a key is
 * sent exactly the events whose objects it may read through the API.
 * Deliveries are written and the network's fan-out cursor moved past their events in one
 * transaction, and SKIP LOCKED on the cursors lets several instances fan out side by side (each
 * its own networks): an event is fanned out once. The instance that fans an event out also
 * claims its deliveries (as far as it has room), so a delivery that succeeds at once costs no
 * claim and no update: it is written once, with the others of its webhook the round delivered.
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
   * batch, more may wait), the deliveries it claimed for this instance and, when it claimed any,
   * the round's lease. Deliveries `claim` refuses are written due for any instance. Those it
   * accepts are not written yet: the round's networks stay leased (their cursors unmoved) until
   * the dispatcher writes each of them once with its answer (`WebhookRepository.endRound`), so a
   * delivery answered within the round costs a place in one row, no claim and no update; if this
   * instance dies first, the lease ends and the events are fanned out again (at least once).
   */
  async round(claim: (webhookId: string) => boolean, leaseMs: number): Promise<FanOutRound> {
    return this.db.transaction(async (tx) => {
      const events = await this.webhooks.takePendingEvents(tx, EVENTS_PER_ROUND);
      if (events.length === 0) return { events: 0, full: false, claimed: [], lease: null };
      const listeners = await this.webhooks.listeners(tx);
      const deliveries: NewDelivery[] = [];
      const readable: Readable = new Map();
      const roundIds = new RoundDeliveryIds();
      for (let i = 0; i < events.length; i++) {
        // In slices, between which the event loop serves the posting groups (common/event-loop.ts).
        if (i > 0 && i % EVENTS_PER_SLICE === 0) await nextTurn();
        const event = events[i] as PendingEventRow;
        for (const webhook of listeners) {
          const match = this.matches(webhook, event, readable);
          if (match === false || (match !== true && !(await match))) continue;
          // Time-ordered ids: the deliveries' primary key grows at its right edge, not at a random page per row. A claimed
          // delivery's id is its place in the round's batch of its webhook (delivery-ids.ts).
          const claimed = claim(webhook.id);
          deliveries.push({ webhook, event, id: claimed ? roundIds.take(webhook.id) : timeOrderedUuid(), claimed });
        }
      }
      const claimed = deliveries.filter((d) => d.claimed);
      await this.webhooks.insertDeliveries(
        tx,
        deliveries.filter((d) => !d.claimed),
      );
      let lease: FanOutLease | null = null;
      if (claimed.length === 0) await this.webhooks.advanceFanOut(tx, events);
      else {
        lease = { id: randomUUID(), through: lastSeqs(events), deliveries: new Map(claimed.map((d) => [d.id, roundDelivery(d)])) };
        await this.webhooks.leaseFanOut(tx, [...lease.through.keys()], lease.id, leaseMs);
      }
      return { events: events.length, full: fullBatch(events), claimed: claimed.map(claimedRow), lease };
    });
  }

  /**
   * `readable` remembers, for this round, whether each webhook's key may read an account (the
   * events of a round share many): once every account of an event has its answer, the match is
   * decided without waiting for anything.
   */
  private matches(webhook: ListenerRow, event: PendingEventRow, readable: Readable): boolean | Promise<boolean> {
    if (webhook.network_id !== event.network_id || !webhook.events.includes(event.type)) return false;
    // To the microsecond: a webhook created in the same millisecond just after an event does not hear it.
    if (compareInstants(webhook.created_at, event.occurred_at) > 0) return false;
    if (webhook.account_id !== null && !event.account_ids.includes(webhook.account_id)) return false;
    let known = readable.get(webhook.id);
    if (!known) readable.set(webhook.id, (known = new Map<string, boolean>()));
    // An event may be read when one of its accounts may be: asked account by account, so each answer serves the round.
    for (let i = 0; i < event.account_ids.length; i++) {
      const may = known.get(event.account_ids[i] as string);
      if (may === undefined) return this.asking(webhook, event.account_ids.slice(i), known);
      if (may) return true;
    }
    return false;
  }

  private async asking(webhook: ListenerRow, accountIds: readonly string[], known: Map<string, boolean>): Promise<boolean> {
    for (const accountId of accountIds) {
      let may = known.get(accountId);
      if (may === undefined) {
        may = await this.canRead(webhook, accountId);
        known.set(accountId, may);
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

/** Whether a webhook's key may read an account: by webhook id, then account id. */
type Readable = Map<string, Map<string, boolean>>;

/** A round's lease on its networks' fan-out cursors, until its claimed deliveries are written. */
export interface FanOutLease {
  readonly id: string;
  /** Each network's last event in the round: its cursor's place once the round is written. */
  readonly through: ReadonlyMap<string, string>;
  /** The claimed deliveries, by id, not written yet. */
  readonly deliveries: ReadonlyMap<string, Omit<RoundDelivery, 'state' | 'result'>>;
}

export interface FanOutRound {
  readonly events: number;
  readonly full: boolean;
  readonly claimed: ClaimedRow[];
  readonly lease: FanOutLease | null;
}

function lastSeqs(events: readonly PendingEventRow[]): Map<string, string> {
  const last = new Map<string, string>();
  for (const e of events) last.set(e.network_id, e.seq);
  return last;
}

function roundDelivery(d: NewDelivery): Omit<RoundDelivery, 'state' | 'result'> {
  return { networkId: d.event.network_id, id: d.id, webhookId: d.webhook.id, eventSeq: d.event.seq };
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
