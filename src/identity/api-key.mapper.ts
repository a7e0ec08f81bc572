import type { ApiKey } from './api-key.model';
import type { ApiKeyRecord } from './api-key.record';

/** The GraphQL `ApiKey` of a key record: whether it is revoked, not when. */
export function toApiKeyModel(record: ApiKeyRecord): ApiKey {
  return {
    id: record.id,
    role: record.role,
    label: record.label,
    revoked: record.revokedAt !== null,
    deploymentAdmin: record.deploymentAdmin,
    partyId: record.partyId,
    networkId: record.networkId,
  };
}
