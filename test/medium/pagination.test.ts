import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import type { PartyKind } from '../../src/ledger/parties/party.model';
import type { PartyService } from '../../src/ledger/parties/party.service';
import { type Medium, newMedium } from '../support/medium';

/** paginate(), the one connection recipe, through a service that uses it (in process). */
describe('paginate() through PartyService.page', () => {
  let medium: Medium;
  let parties: PartyService;

  beforeAll(async () => {
    medium = await newMedium();
    parties = medium.service<PartyService>('ledger/parties/party.service', 'PartyService') as PartyService;
    for (const name of ['Ana', 'Ben', 'Chen', 'Dee', 'Eli']) await parties.register(DEFAULT_NETWORK_ID, 'MEMBER' as PartyKind, name, null);
  });
  afterAll(async () => {
    await medium?.close();
  });

  it('walks every row once, in pages of `first`, and says when there is no next page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    const pages: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await parties.page(DEFAULT_NETWORK_ID, null, 2, after);
      seen.push(...page.edges.map((e) => e.node.name));
      pages.push(page.pageInfo.hasNextPage);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect([...seen].sort()).toEqual(['Ana', 'Ben', 'Chen', 'Dee', 'Eli']);
    expect(pages).toEqual([true, true, false]);
  });

  it('refuses a page size out of bounds and a cursor it did not make, with VALIDATION_FAILED', async () => {
    await expect(parties.page(DEFAULT_NETWORK_ID, null, 0, null)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(parties.page(DEFAULT_NETWORK_ID, null, 501, null)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(parties.page(DEFAULT_NETWORK_ID, null, 2, 'not-a-cursor')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // A well-formed cursor whose part is not an id.
    const forged = Buffer.from(JSON.stringify(['not-an-id'])).toString('base64url');
    await expect(parties.page(DEFAULT_NETWORK_ID, null, 2, forged)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
