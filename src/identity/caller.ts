import { registerEnumType } from '@nestjs/graphql';

export enum Role {
  ADMIN = 'ADMIN',
  MEMBER = 'MEMBER',
  TREASURER = 'TREASURER',
  INTEGRATION = 'INTEGRATION',
  AUDITOR = 'AUDITOR',
}
registerEnumType(Role, { name: 'Role' });

/** Who is asking: the API key that authenticated the request and what it is bound to. */
export interface Caller {
  readonly apiKeyId: string;
  readonly role: Role;
  /** The party the key acts for; null for ADMIN and AUDITOR keys. */
  readonly partyId: string | null;
  /** The network the key acts in: every row it reads or writes is of this network (SPEC B.3). */
  readonly networkId: string;
  /** An ADMIN key that may also create networks and keys for any network. */
  readonly deploymentAdmin: boolean;
}

export const ALL_ROLES = [Role.ADMIN, Role.MEMBER, Role.TREASURER, Role.INTEGRATION, Role.AUDITOR] as const;
export const READERS = ALL_ROLES;
