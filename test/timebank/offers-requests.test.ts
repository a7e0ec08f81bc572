import type { Client } from 'pg';
import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import { listingPageSql } from '../../src/timebank/listings/listing.sql';
import { connect } from '../support/database';
import { createKey, registerParty, snapshot, startLedger, type TestLedger } from '../support/ledger';
import { addMember, codeOf, confirmExchange, dataOf, disputeExchange, newMember, recordExchange, setUpHours, type Member } from './helpers';

const LISTING_FIELDS = 'id title category description hours open closedAt party { id name } exchange { id status }';

type Kind = 'Offer' | 'Request';

function post(
  client: ReturnType<TestLedger['client']>,
  kind: Kind,
  args: { partyId: string; title: string; category: string; description?: string; hours?: string },
) {
  return client.request(
    `mutation($partyId: ID!, $title: String!, $category: String!, $description: String, $hours: Amount) {
       post${kind}(partyId: $partyId, title: $title, category: $category, description: $description, hours: $hours) { ${LISTING_FIELDS} } }`,
    { description: null, hours: null, ...args },
  );
}

function close(client: ReturnType<TestLedger['client']>, kind: Kind, id: string) {
  return client.request(`mutation($id: ID!) { close${kind}(id: $id) { ${LISTING_FIELDS} } }`, { id });
}

async function list(
  client: ReturnType<TestLedger['client']>,
  kind: Kind,
  args: { category?: string; search?: string; open?: boolean; partyId?: string; first?: number; after?: string } = {},
): Promise<{ ids: string[]; titles: string[]; hasNextPage: boolean; endCursor: string | null }> {
  const field = kind === 'Offer' ? 'offers' : 'requests';
  const data = await client.ok(
    `query($category: String, $search: String, $open: Boolean, $partyId: ID, $first: Int, $after: String) {
       ${field}(category: $category, search: $search, open: $open, partyId: $partyId, first: $first, after: $after) {
         edges { node { id title } } pageInfo { hasNextPage endCursor } } }`,
    { category: null, search: null, open: null, partyId: null, first: null, after: null, ...args },
  );
  const connection = data[field];
  return {
    ids: connection.edges.map((e: { node: { id: string } }) => e.node.id),
    titles: connection.edges.map((e: { node: { title: string } }) => e.node.title),
    hasNextPage: connection.pageInfo.hasNextPage,
    endCursor: connection.pageInfo.endCursor,
  };
}

describe('offers and requests', () => {
  let ledger: TestLedger;
  let db: Client;
  let ana: Member;
  let ben: Member;
  let cara: Member;
  let community: Member;
  let auditorKey: string;

  beforeAll(async () => {
    ledger = await startLedger();
    db = await connect(ledger.databaseUrl);
    await setUpHours(ledger.admin);
    ana = await newMember(ledger.admin, 'Ana');
    ben = await newMember(ledger.admin, 'Ben');
    cara = await newMember(ledger.admin, 'Cara');
    community = await newMember(ledger.admin, 'Riverside Time Bank', { kind: 'COMMUNITY', role: 'TREASURER', creditLimit: '1000' });
    await addMember(ledger.admin, community.partyId, cara.partyId);
    auditorKey = await createKey(ledger.admin, 'AUDITOR');
  });
  afterAll(async () => {
    await db.end();
    await ledger.stop();
  });

  it('lets a member post an offer and a request for its own party, trimmed, with a lower-case category', async () => {
    const offer = dataOf(
      await post(ledger.client(ana.key), 'Offer', {
        partyId: ana.partyId,
        title: '  Bike repair ',
        category: ' Repairs',
        description: 'Punctures, brakes, gears',
        hours: '1.5',
      }),
    ).postOffer;
    expect(offer).toMatchObject({
      title: 'Bike repair',
      category: 'repairs',
      description: 'Punctures, brakes, gears',
      hours: '1.50',
      open: true,
      closedAt: null,
    });
    expect(offer.party).toEqual({ id: ana.partyId, name: 'Ana' });
    const request = dataOf(
      await post(ledger.client(ana.key), 'Request', { partyId: ana.partyId, title: 'Lift to the clinic', category: 'Transport' }),
    ).postRequest;
    expect(request).toMatchObject({
      title: 'Lift to the clinic',
      category: 'transport',
      description: null,
      hours: null,
      open: true,
      exchange: null,
    });
  });

  it('refuses posting for another party (FORBIDDEN) and by an auditor, storing nothing; a coordinator may post for its member', async () => {
    const before = await db.query('SELECT count(*) FROM listings');
    expect(codeOf(await post(ledger.client(ben.key), 'Offer', { partyId: ana.partyId, title: 'x', category: 'x' }))).toBe('FORBIDDEN');
    expect(codeOf(await post(ledger.client(ben.key), 'Request', { partyId: ana.partyId, title: 'x', category: 'x' }))).toBe('FORBIDDEN');
    expect(codeOf(await post(ledger.client(auditorKey), 'Offer', { partyId: ana.partyId, title: 'x', category: 'x' }))).toBe('FORBIDDEN');
    expect(codeOf(await post(ledger.client(community.key), 'Offer', { partyId: ana.partyId, title: 'x', category: 'x' }))).toBe(
      'FORBIDDEN',
    );
    expect((await db.query('SELECT count(*) FROM listings')).rows).toEqual(before.rows);
    const forCara = dataOf(
      await post(ledger.client(community.key), 'Request', { partyId: cara.partyId, title: 'Shopping', category: 'errands' }),
    ).postRequest;
    expect(forCara.party.id).toBe(cara.partyId);
    const byAdmin = dataOf(await post(ledger.admin, 'Offer', { partyId: ben.partyId, title: 'Tutoring', category: 'learning' })).postOffer;
    expect(byAdmin.party.id).toBe(ben.partyId);
  });

  it('refuses malformed listings: no title, no category, a zero or over-precise estimate, an unknown party', async () => {
    const before = await db.query('SELECT count(*) FROM listings');
    const as = ledger.client(ana.key);
    expect(codeOf(await post(as, 'Offer', { partyId: ana.partyId, title: '   ', category: 'x' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await post(as, 'Offer', { partyId: ana.partyId, title: 'x', category: '' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await post(as, 'Offer', { partyId: ana.partyId, title: 'x'.repeat(201), category: 'x' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(await post(as, 'Offer', { partyId: ana.partyId, title: 'x', category: 'x', hours: '0' }))).toBe('INVALID_AMOUNT');
    expect(codeOf(await post(as, 'Offer', { partyId: ana.partyId, title: 'x', category: 'x', hours: '1.234' }))).toBe('INVALID_AMOUNT');
    expect(codeOf(await post(ledger.admin, 'Offer', { partyId: '00000000-0000-4000-8000-000000000000', title: 'x', category: 'x' }))).toBe(
      'NOT_FOUND',
    );
    expect((await db.query('SELECT count(*) FROM listings')).rows).toEqual(before.rows);
  });

  it('lets every key read everyone’s offers and requests', async () => {
    for (const reader of [ben.key, cara.key, auditorKey]) {
      expect((await list(ledger.client(reader), 'Offer', { search: 'bike' })).titles).toEqual(['Bike repair']);
      expect((await list(ledger.client(reader), 'Request', { category: 'transport' })).titles).toEqual(['Lift to the clinic']);
    }
    expect(codeOf(await ledger.client().request('{ offers { edges { node { id } } } }'))).toBe('UNAUTHENTICATED');
  });

  describe('finding them', () => {
    const titles = [
      'Garden help',
      'Weeding the allotment',
      'Gardening advice for beginners',
      'Piano lessons',
      'Dog walking',
      'Bicycle maintenance class',
    ];
    beforeAll(async () => {
      const market = await registerParty(ledger.admin, 'MEMBER', 'Market');
      for (const [i, title] of titles.entries()) {
        dataOf(
          await post(ledger.admin, 'Offer', {
            partyId: market,
            title,
            category: i < 3 ? 'Garden' : 'other',
            description: i === 1 ? 'pulling weeds in the garden beds' : `offer number ${i}`,
          }),
        );
      }
    });

    it('searches title, category and description with full-text search: word forms match, web search syntax works', async () => {
      const c = ledger.client(ben.key);
      // "gardens" stems to "garden", which "Gardening" also stems to; newest first.
      expect((await list(c, 'Offer', { search: 'gardens' })).titles).toEqual([
        'Gardening advice for beginners',
        'Weeding the allotment',
        'Garden help',
      ]);
      expect((await list(c, 'Offer', { search: 'garden -weeds' })).titles).toEqual(['Gardening advice for beginners', 'Garden help']);
      expect((await list(c, 'Offer', { search: '"piano lessons"' })).titles).toEqual(['Piano lessons']);
      expect((await list(c, 'Offer', { search: 'bicycles' })).titles).toEqual(['Bicycle maintenance class']);
      expect((await list(c, 'Offer', { search: 'submarine' })).titles).toEqual([]);
      // Punctuation is not syntax: it cannot break the query.
      expect((await list(c, 'Offer', { search: "dog's & (walking | !" })).titles).toEqual(['Dog walking']);
    });

    it('filters by party, by category (any case) and by open, and pages newest first with keyset cursors', async () => {
      const c = ledger.client(cara.key);
      expect((await list(c, 'Offer', { partyId: ana.partyId })).titles).toEqual(['Bike repair']);
      expect((await list(c, 'Offer', { category: 'GARDEN' })).titles).toEqual([
        'Gardening advice for beginners',
        'Weeding the allotment',
        'Garden help',
      ]);
      const all = await list(c, 'Offer', { first: 500 });
      const pages: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await list(c, 'Offer', { first: 2, after });
        pages.push(...page.ids);
        if (!page.hasNextPage) break;
        after = page.endCursor ?? undefined;
      }
      expect(pages).toEqual(all.ids);
      expect(new Set(pages).size).toBe(pages.length);
      expect(codeOf(await c.request('{ offers(after: "bm90LWEtY3Vyc29y") { edges { node { id } } } }'))).toBe('VALIDATION_FAILED');
      expect(codeOf(await c.request('{ offers(first: 501) { edges { node { id } } } }'))).toBe('VALIDATION_FAILED');
      expect(codeOf(await c.request(`{ offers(search: "${'x'.repeat(201)}") { edges { node { id } } } }`))).toBe('VALIDATION_FAILED');
    });

    it('answers a text search from the GIN index over the search vector, not a scan', async () => {
      const market = await registerParty(ledger.admin, 'MEMBER', 'Filler');
      await db.query(
        `INSERT INTO listings (id, kind, party_id, title, category, description)
         SELECT gen_random_uuid(), 'OFFER', $1, 'filler offer ' || i, 'misc', 'nothing to see ' || i FROM generate_series(1, 5000) AS i`,
        [market],
      );
      await db.query('VACUUM ANALYZE listings');
      const { text, params } = listingPageSql({
        networkId: DEFAULT_NETWORK_ID,
        kind: 'OFFER',
        partyId: null,
        category: null,
        open: true,
        search: 'accordion',
        beforeSeq: null,
        limit: 51,
      });
      const plan = JSON.stringify((await db.query(`EXPLAIN (FORMAT JSON) ${text}`, params)).rows);
      expect(plan).toContain('"Index Name":"listings_search"');
    });
  });

  it('closes: by the owner or a coordinator; another member is FORBIDDEN; closing again keeps the first time', async () => {
    const offer = dataOf(
      await post(ledger.client(cara.key), 'Offer', { partyId: cara.partyId, title: 'Knitting', category: 'crafts' }),
    ).postOffer;
    const request = dataOf(
      await post(ledger.client(cara.key), 'Request', { partyId: cara.partyId, title: 'Wool', category: 'crafts' }),
    ).postRequest;
    const before = await db.query('SELECT id, closed_at FROM listings ORDER BY id');
    expect(codeOf(await close(ledger.client(ben.key), 'Offer', offer.id))).toBe('FORBIDDEN');
    expect(codeOf(await close(ledger.client(auditorKey), 'Request', request.id))).toBe('FORBIDDEN');
    expect(codeOf(await close(ledger.client(cara.key), 'Offer', request.id))).toBe('NOT_FOUND');
    expect((await db.query('SELECT id, closed_at FROM listings ORDER BY id')).rows).toEqual(before.rows);
    const closedOffer = dataOf(await close(ledger.client(cara.key), 'Offer', offer.id)).closeOffer;
    expect(closedOffer.open).toBe(false);
    expect(dataOf(await close(ledger.client(cara.key), 'Offer', offer.id)).closeOffer.closedAt).toBe(closedOffer.closedAt);
    expect(dataOf(await close(ledger.client(community.key), 'Request', request.id)).closeRequest.open).toBe(false);
    const c = ledger.client(ben.key);
    expect((await list(c, 'Offer', { category: 'crafts', open: true })).ids).toEqual([]);
    expect((await list(c, 'Offer', { category: 'crafts', open: false })).ids).toEqual([offer.id]);
    expect((await list(c, 'Request', { category: 'crafts' })).ids).toEqual([request.id]);
  });

  describe('linked to exchanges', () => {
    it('marks what an exchange fulfilled: the request closes and names it, the offer names it and stays open', async () => {
      const offer = dataOf(
        await post(ledger.client(ben.key), 'Offer', { partyId: ben.partyId, title: 'Cooking', category: 'food' }),
      ).postOffer;
      const request = dataOf(
        await post(ledger.client(ana.key), 'Request', { partyId: ana.partyId, title: 'A meal', category: 'food' }),
      ).postRequest;
      const exchange = dataOf(
        await recordExchange(ledger.client(ana.key), {
          provider: ben.accountId,
          receiver: ana.accountId,
          hours: '1',
          offerId: offer.id,
          requestId: request.id,
          key: 'meal',
        }),
      ).recordExchange;
      expect(exchange.offer).toEqual({ id: offer.id, open: true });
      expect(exchange.request).toEqual({ id: request.id, open: false });
      const retried = dataOf(
        await recordExchange(ledger.client(ana.key), {
          provider: ben.accountId,
          receiver: ana.accountId,
          hours: '1',
          offerId: offer.id,
          requestId: request.id,
          key: 'meal',
        }),
      ).recordExchange;
      expect(retried.id).toBe(exchange.id);
      const query = `query { offers(category: "food") { edges { node { open exchange { id } } } } requests(category: "food") { edges { node { open exchange { id status } } } } }`;
      const read = await ledger.client(ana.key).ok(query);
      expect(read.offers.edges[0].node).toEqual({ open: true, exchange: { id: exchange.id } });
      expect(read.requests.edges[0].node).toEqual({ open: false, exchange: { id: exchange.id, status: 'CONFIRMED' } });
      // Anyone reads the listings; the exchange only whoever may read it (SPEC B.1).
      const stranger = await ledger.client(cara.key).ok(query);
      expect(stranger.offers.edges[0].node).toEqual({ open: true, exchange: null });
      expect(stranger.requests.edges[0].node).toEqual({ open: false, exchange: null });
    });

    it('marks nothing while the exchange is pending, marks on confirmation, and never for a disputed one', async () => {
      const request = dataOf(
        await post(ledger.client(ana.key), 'Request', { partyId: ana.partyId, title: 'Ironing', category: 'home' }),
      ).postRequest;
      const disputed = dataOf(
        await recordExchange(ledger.client(ben.key), {
          provider: ben.accountId,
          receiver: ana.accountId,
          hours: '1',
          requestId: request.id,
          key: 'ironing-1',
        }),
      ).recordExchange;
      expect(disputed.request).toEqual({ id: request.id, open: true });
      dataOf(await disputeExchange(ledger.client(ana.key), disputed.id, 'not done'));
      const requestQuery = '{ requests(category: "home") { edges { node { open exchange { id } } } } }';
      expect((await ledger.client(ana.key).ok(requestQuery)).requests.edges[0].node).toEqual({ open: true, exchange: null });
      const confirmed = dataOf(
        await recordExchange(ledger.client(ben.key), {
          provider: ben.accountId,
          receiver: ana.accountId,
          hours: '1',
          requestId: request.id,
          key: 'ironing-2',
        }),
      ).recordExchange;
      expect((await ledger.client(ana.key).ok(requestQuery)).requests.edges[0].node).toEqual({ open: true, exchange: null });
      dataOf(await confirmExchange(ledger.client(ana.key), confirmed.id));
      expect((await ledger.client(ana.key).ok(requestQuery)).requests.edges[0].node).toEqual({
        open: false,
        exchange: { id: confirmed.id },
      });
    });

    it('refuses linking another party’s offer or request, a closed request, or an id of the wrong kind, changing nothing', async () => {
      const anasOffer = dataOf(
        await post(ledger.client(ana.key), 'Offer', { partyId: ana.partyId, title: 'Sewing', category: 'crafts2' }),
      ).postOffer;
      const bensRequest = dataOf(
        await post(ledger.client(ben.key), 'Request', { partyId: ben.partyId, title: 'Buttons', category: 'crafts2' }),
      ).postRequest;
      const closedRequest = dataOf(
        await post(ledger.client(ana.key), 'Request', { partyId: ana.partyId, title: 'Hem', category: 'crafts2' }),
      ).postRequest;
      dataOf(await close(ledger.client(ana.key), 'Request', closedRequest.id));
      const before = await snapshot(ledger.admin);
      const base = { provider: ben.accountId, receiver: ana.accountId, hours: '1' };
      const as = ledger.client(ana.key);
      expect(codeOf(await recordExchange(as, { ...base, offerId: anasOffer.id, key: 'bad-1' }))).toBe('VALIDATION_FAILED');
      expect(codeOf(await recordExchange(as, { ...base, requestId: bensRequest.id, key: 'bad-2' }))).toBe('VALIDATION_FAILED');
      expect(codeOf(await recordExchange(as, { ...base, requestId: closedRequest.id, key: 'bad-3' }))).toBe('VALIDATION_FAILED');
      expect(codeOf(await recordExchange(as, { ...base, requestId: anasOffer.id, key: 'bad-4' }))).toBe('NOT_FOUND');
      expect(await snapshot(ledger.admin)).toBe(before);
    });
  });
});
