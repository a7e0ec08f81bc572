import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GqlClient } from '../lib/gql-client';
import type { ProgressStep } from '../lib/progress';
import { idOf } from './directory';
import { CO_OP, CREDIT_UNION, LAND_TRUST, MEMBERS, TIME_BANK } from './network';

/**
 * The demo's API keys, one per role and per member who uses the app. A key's secret is shown
 * only when it is made, so the seed keeps them in a file beside the admin key (mode 600). The
 * file also says which ledger they belong to and whether the seed finished: the ledger's
 * idempotency keys are remembered per API key, so an interrupted seed can only be resumed with
 * the same keys it started with.
 */
export interface KeyHolder {
  readonly label: string;
  readonly role: 'MEMBER' | 'TREASURER' | 'INTEGRATION' | 'AUDITOR';
  /** The party the key is bound to, by name. */
  readonly party?: string;
}

export const COORDINATOR = `treasurer: ${TIME_BANK.name}`;
export const CO_OP_TREASURER = `treasurer: ${CO_OP.name}`;
export const LAND_TRUST_TREASURER = `treasurer: ${LAND_TRUST.name}`;
export const INTEGRATION = `integration: ${CREDIT_UNION.name}`;
export const AUDITOR = 'auditor';

export function memberKeyLabel(name: string): string {
  return `member: ${name}`;
}

export const KEY_HOLDERS: readonly KeyHolder[] = [
  ...MEMBERS.filter((member) => member.app).map((member): KeyHolder => ({
    label: memberKeyLabel(member.name),
    role: 'MEMBER',
    party: member.name,
  })),
  { label: COORDINATOR, role: 'TREASURER', party: TIME_BANK.name },
  { label: CO_OP_TREASURER, role: 'TREASURER', party: CO_OP.name },
  { label: LAND_TRUST_TREASURER, role: 'TREASURER', party: LAND_TRUST.name },
  { label: INTEGRATION, role: 'INTEGRATION', party: CREDIT_UNION.name },
  { label: AUDITOR, role: 'AUDITOR' },
];

export interface DemoKeysFile {
  /** The time bank's party id: the ledger these keys belong to. */
  readonly ledger: string;
  complete: boolean;
  readonly keys: Record<string, string>;
}

export function readKeysFile(path: string): DemoKeysFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DemoKeysFile;
  } catch {
    return undefined;
  }
}

export function writeKeysFile(path: string, file: DemoKeysFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
}

/** Makes the keys the file lacks, and answers a client per key holder. */
export async function ensureKeys(
  admin: GqlClient,
  parties: Map<string, string>,
  file: DemoKeysFile,
  save: () => void,
  step: ProgressStep,
): Promise<Map<string, GqlClient>> {
  const clients = new Map<string, GqlClient>();
  let made = 0;
  for (const holder of KEY_HOLDERS) {
    let secret = file.keys[holder.label];
    if (!secret) {
      const data = await admin.ok<{ createApiKey: { secret: string } }>(
        'mutation($partyId: ID, $role: Role!, $label: String) { createApiKey(partyId: $partyId, role: $role, label: $label) { secret } }',
        { partyId: holder.party ? idOf(parties, holder.party) : null, role: holder.role, label: `demo ${holder.label}` },
      );
      secret = data.createApiKey.secret;
      file.keys[holder.label] = secret;
      save();
      made += 1;
    }
    const client = admin.as(secret);
    const me = await client.request<{ me: { role: string } }>('{ me { role } }');
    if (!me.data?.me) {
      throw new Error(
        `The demo's key "${holder.label}" is refused (${me.errors?.[0]?.message ?? 'unknown error'}), so the unfinished seed cannot be resumed safely. Start from an empty ledger.`,
      );
    }
    clients.set(holder.label, client);
    step.tick();
  }
  step.done(`${KEY_HOLDERS.length} keys: ${made} issued, ${KEY_HOLDERS.length - made} from the last run`);
  return clients;
}

/** A fresh set of example keys for a demo whose keys were lost; nothing else is touched. */
export async function issueNewKeys(admin: GqlClient, parties: Map<string, string>, ledger: string): Promise<DemoKeysFile> {
  const file: DemoKeysFile = { ledger, complete: true, keys: {} };
  for (const holder of KEY_HOLDERS) {
    const data = await admin.ok<{ createApiKey: { secret: string } }>(
      'mutation($partyId: ID, $role: Role!, $label: String) { createApiKey(partyId: $partyId, role: $role, label: $label) { secret } }',
      { partyId: holder.party ? idOf(parties, holder.party) : null, role: holder.role, label: `demo ${holder.label}` },
    );
    file.keys[holder.label] = data.createApiKey.secret;
  }
  return file;
}

export function clientFor(clients: Map<string, GqlClient>, label: string): GqlClient {
  const client = clients.get(label);
  if (!client) throw new Error(`the demo has no key for ${label}`);
  return client;
}
