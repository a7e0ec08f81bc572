import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, forbidden, notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import { type ConnectionShape, paginate, sequenceCursor } from '../../graphql/pagination';
import { AccessService } from '../../identity/access.service';
import type { Caller } from '../../identity/caller';
import { toMinor } from '../../ledger/money/amount';
import { cleanText } from '../../common/text';
import { toListingModel } from './listing.mapper';
import type { Listing } from './listing.model';
import { HOURS_SCALE, type ListingKind, type ListingRecord } from './listing.record';
import { ListingRepository } from './listing.repository';
import { PartyReader } from '../../ledger/ledger-readers';

export const MAX_TITLE_LENGTH = 200;
export const MAX_CATEGORY_LENGTH = 50;
export const MAX_DESCRIPTION_LENGTH = 4000;
export const MAX_SEARCH_LENGTH = 200;
/** An estimate above a year of full-time work is a typo, not an offer. */
const MAX_HOURS_MINOR = 2000n * 100n;

const NAMES: Record<ListingKind, string> = { OFFER: 'offer', REQUEST: 'request' };

/**
 * Offers and requests. A member posts and closes its own party's; a coordinator (an admin, or
 * a treasurer of the party or of an organisation it belongs to) may do it for them. Everyone
 * with a key reads everyone's.
 */
@Injectable()
export class ListingService {
  constructor(
    private readonly listings: ListingRepository,
    private readonly parties: PartyReader,
    private readonly access: AccessService,
  ) {}

  async post(
    caller: Caller,
    kind: ListingKind,
    input: { partyId: string; title: string; category: string; description?: string | null; hours?: string | null },
  ): Promise<ListingRecord> {
    const party = await this.parties.findById(caller.networkId, checkId(input.partyId, 'partyId'));
    if (!party) throw notFound('party', input.partyId);
    if (!(await this.access.actsFor(caller, party.id))) throw forbidden(`This API key may not post ${NAMES[kind]}s for party ${party.id}`);
    return this.listings.insert({
      networkId: caller.networkId,
      id: randomUUID(),
      kind,
      partyId: party.id,
      title: cleanText(input.title, 'title', MAX_TITLE_LENGTH, true) as string,
      category: normaliseCategory(input.category),
      description: cleanText(input.description, 'description', MAX_DESCRIPTION_LENGTH, false),
      hoursMinor: hoursMinor(input.hours),
    });
  }

  async close(caller: Caller, kind: ListingKind, id: string): Promise<ListingRecord> {
    const listing = await this.get(caller.networkId, kind, id, 'id');
    if (!(await this.access.actsFor(caller, listing.partyId))) throw forbidden(`This API key may not close ${NAMES[kind]} ${listing.id}`);
    const closed = await this.listings.close(caller.networkId, listing.id);
    if (!closed) throw notFound(NAMES[kind], id);
    return closed;
  }

  /** An offer or request of this kind, or NOT_FOUND (also when the id is of the other kind). */
  async get(network: string, kind: ListingKind, id: string, field: string): Promise<ListingRecord> {
    const listing = await this.listings.findById(network, checkId(id, field));
    if (!listing || listing.kind !== kind) throw notFound(NAMES[kind], id);
    return listing;
  }

  /**
   * An open offer or request that an exchange may say it fulfils: the offer must be the
   * provider's, the request the receiver's. `mayBeClosed` is for the replay of an exchange
   * already recorded, which closed the listing itself.
   */
  async linkable(
    network: string,
    kind: ListingKind,
    id: string | null | undefined,
    partyId: string,
    field: string,
    mayBeClosed = false,
  ): Promise<string | null> {
    if (id === null || id === undefined) return null;
    const listing = await this.get(network, kind, id, field);
    if (listing.partyId !== partyId) {
      throw validationFailed(
        field,
        `${NAMES[kind]} ${listing.id} belongs to another party than the exchange's ${kind === 'OFFER' ? 'provider' : 'receiver'}`,
      );
    }
    if (listing.closedAt !== null && !mayBeClosed) throw validationFailed(field, `${NAMES[kind]} ${listing.id} is closed`);
    return listing.id;
  }

  /** The offers and requests an exchange names, as GraphQL models (ExchangeResolver shows them as they are). */
  async findByIds(network: string, ids: readonly string[]): Promise<Listing[]> {
    return (await this.listings.findByIds(network, ids)).map(toListingModel);
  }

  async page(
    network: string,
    kind: ListingKind,
    args: {
      partyId?: string | null;
      category?: string | null;
      search?: string | null;
      open?: boolean | null;
      first?: number | null;
      after?: string | null;
    },
  ): Promise<ConnectionShape<ListingRecord>> {
    return paginate(args, {
      cursor: ['string'],
      from: ([seq]) => sequenceCursor(seq as string),
      fetch: (beforeSeq, limit) =>
        this.listings.page({
          networkId: network,
          kind,
          partyId: args.partyId === null || args.partyId === undefined ? null : checkId(args.partyId, 'partyId'),
          category: args.category === null || args.category === undefined ? null : normaliseCategory(args.category, 'category'),
          open: args.open ?? null,
          search: cleanText(args.search, 'search', MAX_SEARCH_LENGTH, false),
          beforeSeq,
          limit,
        }),
      keyOf: (l) => [l.seq],
    });
  }
}

function normaliseCategory(category: string, field = 'category'): string {
  return (cleanText(category, field, MAX_CATEGORY_LENGTH, true) as string).toLowerCase();
}

function hoursMinor(hours: string | null | undefined): bigint | null {
  if (hours === null || hours === undefined) return null;
  const minor = toMinor(hours, HOURS_SCALE);
  if (minor <= 0n || minor > MAX_HOURS_MINOR) {
    throw new DomainError(ErrorCode.INVALID_AMOUNT, `an hours estimate is more than zero and at most ${MAX_HOURS_MINOR / 100n} hours`);
  }
  return minor;
}
