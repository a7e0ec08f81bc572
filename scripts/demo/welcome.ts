import type { GqlClient } from '../lib/gql-client';
import type { ProgressStep } from '../lib/progress';
import { clientFor, COORDINATOR, memberKeyLabel } from './demo-keys';
import { allNodes, type Directory, idOf } from './directory';
import { type DemoListing, MEMBERS, OFFERS, REQUESTS, TIME_BANK, WELCOME_HOURS } from './network';

/**
 * Welcome hours from the time bank's pool, posted by its coordinator. The first grant's
 * posting time (the original one, on every later run) anchors the demo's calendar.
 */
export async function welcomeGrants(keys: Map<string, GqlClient>, directory: Directory, step: ProgressStep): Promise<Date> {
  const coordinator = clientFor(keys, COORDINATOR);
  const pool = idOf(directory.hours, TIME_BANK.name);
  let anchor: Date | undefined;
  for (const member of MEMBERS) {
    const data = await coordinator.ok<{ postTransaction: { postedAt: string } }>(
      'mutation($postings: [PostingInput!]!, $memo: String, $metadata: JSON, $key: String!) { postTransaction(postings: $postings, kind: TRANSFER, memo: $memo, metadata: $metadata, idempotencyKey: $key) { postedAt } }',
      {
        postings: [
          { accountId: pool, amount: `-${WELCOME_HOURS}` },
          { accountId: idOf(directory.hours, member.name), amount: WELCOME_HOURS },
        ],
        memo: `Welcome to ${TIME_BANK.name}, ${member.name}`,
        metadata: { program: 'welcome hours' },
        key: `demo-welcome-${member.handle}`,
      },
    );
    anchor ??= new Date(`${data.postTransaction.postedAt.slice(0, 10)}T00:00:00.000Z`);
    step.tick();
  }
  step.done(`${MEMBERS.length} members got ${WELCOME_HOURS} hours each from the pool`);
  if (!anchor) throw new Error('the demo has no members');
  return anchor;
}

interface ListingNode {
  id: string;
  title: string;
  open: boolean;
  party: { id: string };
}

/** The demo's offers and requests by title; `closed` holds the titles already closed (a request fulfilled). */
export interface Listings {
  readonly ids: Map<string, string>;
  readonly closed: Set<string>;
}

/** Posts the offers and requests not already there: members in the app post their own, the coordinator the others'. */
async function ensureListings(
  kind: 'Offer' | 'Request',
  listings: readonly DemoListing[],
  keys: Map<string, GqlClient>,
  directory: Directory,
  step: ProgressStep,
): Promise<Listings & { made: number }> {
  const field = kind === 'Offer' ? 'offers' : 'requests';
  const existing = await allNodes<ListingNode>(clientFor(keys, COORDINATOR), field, 'id title open party { id }');
  const ids = new Map<string, string>();
  const closed = new Set<string>();
  let made = 0;
  for (const listing of listings) {
    const partyId = idOf(directory.parties, listing.member);
    const found = existing.find((node) => node.party.id === partyId && node.title === listing.title);
    let id = found?.id;
    if (found && !found.open) closed.add(listing.title);
    if (!id) {
      const app = MEMBERS.some((member) => member.name === listing.member && member.app);
      const poster = clientFor(keys, app ? memberKeyLabel(listing.member) : COORDINATOR);
      const data = await poster.ok<Record<string, { id: string }>>(
        `mutation($partyId: ID!, $title: String!, $category: String!, $description: String, $hours: Amount) { listing: post${kind}(partyId: $partyId, title: $title, category: $category, description: $description, hours: $hours) { id } }`,
        { partyId, title: listing.title, category: listing.category, description: listing.description, hours: listing.hours },
      );
      id = idOf(new Map(Object.entries(data).map(([key, value]) => [key, value.id])), 'listing');
      made += 1;
    }
    ids.set(listing.title, id);
    step.tick();
  }
  return { ids, closed, made };
}

export async function postListings(
  keys: Map<string, GqlClient>,
  directory: Directory,
  step: ProgressStep,
): Promise<{ offers: Listings; requests: Listings }> {
  const offers = await ensureListings('Offer', OFFERS, keys, directory, step);
  const requests = await ensureListings('Request', REQUESTS, keys, directory, step);
  step.done(`${OFFERS.length} offers and ${REQUESTS.length} requests (${offers.made + requests.made} posted now)`);
  return { offers, requests };
}
