import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { notFound, validationFailed } from '../../common/domain-error';
import { checkId } from '../../common/ids';
import { cleanText } from '../../common/text';
import { type ConnectionShape, paginate } from '../../graphql/pagination';
import { ORGANISATION_KINDS, PartyKind, type PartyRecord } from './party.record';
import { AccessService } from '../../identity/access.service';
import { PartyRepository } from './party.repository';

export const MAX_NAME_LENGTH = 200;
export const MAX_HANDLE_LENGTH = 100;

@Injectable()
export class PartyService {
  constructor(
    private readonly parties: PartyRepository,
    private readonly access: AccessService,
  ) {}

  /** Registers a party; `id` is given only by an import, which derives it from the party's ref. */
  async register(
    network: string,
    kind: PartyKind,
    name: string,
    handle: string | null | undefined,
    id: string = randomUUID(),
  ): Promise<PartyRecord> {
    return this.parties.insert(network, {
      id,
      kind,
      name: cleanText(name, 'name', MAX_NAME_LENGTH, true) as string,
      handle: cleanText(handle, 'handle', MAX_HANDLE_LENGTH, false),
    });
  }

  /** A party of `network`, or NOT_FOUND (also for a party of another network). */
  async get(network: string, id: string): Promise<PartyRecord> {
    const party = await this.parties.findById(network, checkId(id));
    if (!party) throw notFound('party', id);
    return party;
  }

  async find(network: string, id: string): Promise<PartyRecord | undefined> {
    return this.parties.findById(network, checkId(id));
  }

  async page(
    network: string,
    kind: PartyKind | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<ConnectionShape<PartyRecord>> {
    return paginate(
      { first, after },
      {
        cursor: ['string'],
        from: ([id]) => checkId(id as string, 'after'),
        fetch: (afterId, limit) => this.parties.page(network, kind ?? null, afterId, limit),
        keyOf: (r) => [r.id],
      },
    );
  }

  async addMember(network: string, organisationId: string, memberId: string): Promise<PartyRecord> {
    const organisation = await this.get(network, organisationId);
    const member = await this.get(network, memberId);
    if (!ORGANISATION_KINDS.includes(organisation.kind))
      throw validationFailed('organisationId', 'members join an organisation, not a member');
    if (member.id === organisation.id) throw validationFailed('memberId', 'an organisation is not its own member');
    await this.parties.addMember(network, organisation.id, member.id);
    // Other instances hear of it by NOTIFY; this one forgets before answering.
    this.access.forgetMembers(organisation.id);
    return organisation;
  }
}
