import type { Role } from './caller';

/**
 * An API key as ApiKeyRepository reads it (never its hash) and ApiKeyService decides on it; the
 * GraphQL `ApiKey` is built from it at the edge (api-key.mapper.ts).
 */
export interface ApiKeyRecord {
  readonly id: string;
  readonly role: Role;
  readonly partyId: string | null;
  readonly label: string | null;
  /** null while the key is valid. */
  readonly revokedAt: Date | null;
  readonly networkId: string;
  readonly deploymentAdmin: boolean;
}
