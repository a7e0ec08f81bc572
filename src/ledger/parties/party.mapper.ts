import type { Party } from './party.model';
import type { PartyRecord } from './party.record';

/** The GraphQL `Party` of a party record: the directory shows a name and a handle, nothing more. */
export function toPartyModel(record: PartyRecord): Party {
  return { id: record.id, kind: record.kind, name: record.name, handle: record.handle };
}
