import { hash as oneShotHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { DomainError, ErrorCode, notFound, validationFailed } from '../common/domain-error';
import { NotificationHub } from '../database/notification-hub';
import { Metrics } from '../observability/metrics';
import { WsSessions } from '../graphql/ws-sessions';
import type { ApiKeyRecord } from './api-key.record';
import { ApiKeyRepository, KEYS_CHANNEL } from './api-key.repository';

/** Notified with a key's id when it is revoked: what other modules listen on (its repository stays private). */
export { KEYS_CHANNEL };
import { type Caller, Role } from './caller';
import { PartyDirectory } from './directory';
import { DEFAULT_NETWORK_ID } from './default-network';
import { NetworkRepository } from './network.repository';

/** What createApiKey asks for; the network defaults to the caller's own. */
export interface ApiKeyRequest {
  readonly role: Role;
  readonly partyId: string | null;
  readonly label: string | null;
  readonly networkId: string | null;
  readonly deploymentAdmin: boolean;
}

/** Secrets are 256 random bits with a recognisable prefix, so leaked keys can be found by scanners. */
const SECRET_PREFIX = 'sl_';

/** One-shot (`crypto.hash`): no Hash object per request; the guard hashes every request's key. */
export function hashSecret(secret: string): Buffer {
  return oneShotHash('sha256', secret, 'buffer');
}

/** The key of an `Authorization: Bearer <key>` value. */
export function bearer(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** What a client without a usable key is told, including where a key comes from. */
export const MISSING_KEY_MESSAGE =
  'Send an API key as "Authorization: Bearer <key>". A coordinator issues keys (createApiKey); `npm start` prints the admin key, and `npm run seed:demo` one key per role';
export const INVALID_KEY_MESSAGE =
  'This API key is not valid or has been revoked: send the whole key as it was issued (it starts with "sl_"), or ask a coordinator for a new one';

/** Which party kinds each bound role may be bound to. */
const ROLE_PARTY_KINDS: Partial<Record<Role, readonly string[]>> = {
  [Role.MEMBER]: ['MEMBER', 'COOPERATIVE', 'CREDIT_UNION', 'LAND_TRUST', 'COMMUNITY'],
  [Role.TREASURER]: ['COOPERATIVE', 'LAND_TRUST', 'COMMUNITY', 'CREDIT_UNION'],
  [Role.INTEGRATION]: ['CREDIT_UNION'],
};

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;
/** An unknown key is remembered as unknown this long: a flood of one bad key costs one lookup. */
const UNKNOWN_TTL_MS = 5_000;
const UNKNOWN_MAX = 10_000;

@Injectable()
export class ApiKeyService {
  /**
   * Valid keys by secret hash. An entry is dropped when any instance revokes the key (NOTIFY),
   * and the whole cache whenever this instance may have missed a notification; while the
   * listener is down the cache is not used at all. So a revoked key is refused as soon as the
   * revocation commits here, and within the notification's delivery time elsewhere.
   */
  private readonly cache = new Map<string, { caller: Caller; atMs: number }>();
  /** Secret hashes found in no row (or a revoked one), with when they were looked up. */
  private readonly unknown = new Map<string, number>();
  /**
   * Counts revocations heard (and gaps). A lookup that started before one may have read the
   * key as valid just before it was revoked: its result is then not cached, or a revocation
   * racing the cache fill would leave a revoked key valid until the entry expires.
   */
  private revocations = 0;
  /** Database lookups of keys (cache misses), for /metrics: a flood of bad keys shows here. */
  private lookups = 0;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly parties: PartyDirectory,
    private readonly networks: NetworkRepository,
    private readonly hub: NotificationHub,
    @Optional() metrics?: Metrics,
    @Optional() private readonly sockets?: WsSessions,
  ) {
    if (sockets) {
      // graphql-ws sockets authenticate at connection_init with the same cache and rules.
      sockets.authenticate = (secret) => this.authenticate(secret);
      sockets.metrics = metrics;
    }
    if (metrics) {
      metrics.registerCounter(
        'ledger_api_key_lookups_total',
        'API keys looked up in the database (not found in the cache)',
        () => this.lookups,
      );
      metrics.scrapeAllowed = (authorization) => metrics.config.metricsPublic || this.mayScrape(authorization);
    }
    this.hub.subscribe(KEYS_CHANNEL, (id) => this.forget(id));
    this.hub.onGap(() => {
      this.revocations++;
      this.cache.clear();
    });
  }

  /**
   * Resolves a bearer secret to its caller; unknown and revoked keys are refused alike, saying
   * what to do next. A key already known is answered synchronously (the guard's hot path); the
   * others after one database lookup, which `beforeLookup` may refuse (the guard's allowance of
   * requests without a valid key: a key already known never spends it).
   */
  authenticate(secret: string | undefined, beforeLookup?: () => void): Caller | Promise<Caller> {
    if (!secret) throw new DomainError(ErrorCode.UNAUTHENTICATED, MISSING_KEY_MESSAGE);
    if (secret.length > 200) throw new DomainError(ErrorCode.UNAUTHENTICATED, INVALID_KEY_MESSAGE);
    const hash = hashSecret(secret);
    const cacheKey = hash.toString('base64');
    const nowMs = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && this.hub.connected && nowMs - cached.atMs < CACHE_TTL_MS) return cached.caller;
    const unknownAt = this.unknown.get(cacheKey);
    if (unknownAt !== undefined && nowMs - unknownAt < UNKNOWN_TTL_MS)
      throw new DomainError(ErrorCode.UNAUTHENTICATED, INVALID_KEY_MESSAGE);
    beforeLookup?.();
    return this.lookUp(hash, cacheKey);
  }

  private async lookUp(hash: Buffer, cacheKey: string): Promise<Caller> {
    const revocationsBefore = this.revocations;
    this.lookups++;
    const row = await this.keys.findByHash(hash);
    if (!row || row.revokedAt) {
      if (this.unknown.size >= UNKNOWN_MAX) this.unknown.clear();
      this.unknown.set(cacheKey, Date.now());
      throw new DomainError(ErrorCode.UNAUTHENTICATED, INVALID_KEY_MESSAGE);
    }
    const caller: Caller = {
      apiKeyId: row.id,
      role: row.role,
      partyId: row.partyId,
      networkId: row.networkId,
      deploymentAdmin: row.deploymentAdmin,
    };
    if (this.hub.connected && this.revocations === revocationsBefore) {
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(cacheKey, { caller, atMs: Date.now() });
    }
    return caller;
  }

  /** Admins and auditors may read /metrics. */
  private async mayScrape(authorization: string | undefined): Promise<boolean> {
    try {
      const caller = await this.authenticate(bearer(authorization));
      return caller.role === Role.ADMIN || caller.role === Role.AUDITOR;
    } catch {
      return false;
    }
  }

  private forget(apiKeyId: string): void {
    this.revocations++;
    this.sockets?.closeKey(apiKeyId);
    for (const [key, entry] of this.cache) if (entry.caller.apiKeyId === apiKeyId) this.cache.delete(key);
  }

  /**
   * Issues a key in the caller's network, or (deployment admins only) in any network; only a
   * deployment admin makes another. Another network's id is NOT_FOUND to everyone else.
   */
  async create(caller: Caller, request: ApiKeyRequest): Promise<{ key: ApiKeyRecord; secret: string }> {
    const { role, partyId, label, deploymentAdmin } = request;
    const networkId = await this.targetNetwork(caller, request.networkId);
    if (deploymentAdmin) {
      if (!caller.deploymentAdmin) throw new DomainError(ErrorCode.FORBIDDEN, 'Only a deployment admin may create another');
      if (role !== Role.ADMIN) throw validationFailed('deploymentAdmin', 'a deployment admin key has the role ADMIN');
    }
    const allowedKinds = ROLE_PARTY_KINDS[role];
    if (allowedKinds) {
      if (!partyId) throw validationFailed('partyId', `a ${role} key must be bound to a party`);
      const party = await this.parties.findById(networkId, partyId);
      if (!party) throw notFound('party', partyId);
      if (!allowedKinds.includes(party.kind)) {
        throw validationFailed('partyId', `a ${role} key cannot be bound to a ${party.kind} party`);
      }
    } else if (partyId) {
      throw validationFailed('partyId', `a ${role} key is not bound to a party`);
    }
    const secret = newSecret();
    const key = await this.keys.insert({ id: randomUUID(), hash: hashSecret(secret), role, partyId, label, networkId, deploymentAdmin });
    return { key, secret };
  }

  private async targetNetwork(caller: Caller, networkId: string | null): Promise<string> {
    if (networkId === null || networkId === caller.networkId) return caller.networkId;
    const [network] = caller.deploymentAdmin ? await this.networks.findByIds([networkId]) : [];
    if (!network) throw notFound('network', networkId);
    return network.id;
  }

  /**
   * Registers a known secret (ADMIN_API_KEY, or one generated at start-up) as an admin of
   * `default` and the first deployment admin.
   */
  async ensureAdmin(secret: string): Promise<void> {
    await this.keys.ensureDeploymentAdmin(randomUUID(), hashSecret(secret), DEFAULT_NETWORK_ID, 'bootstrap admin');
  }

  /** Revokes a key of the caller's network; a deployment admin revokes any key. */
  async revoke(caller: Caller, id: string): Promise<ApiKeyRecord> {
    const row = await this.keys.revoke(caller.deploymentAdmin ? null : caller.networkId, id);
    if (!row) throw notFound('API key', id);
    this.forget(row.id);
    return row;
  }

  /** A key of `network`. */
  async findById(network: string, id: string): Promise<ApiKeyRecord | undefined> {
    return this.keys.findById(network, id);
  }

  /** The caller's own key row. */
  async own(caller: Caller): Promise<ApiKeyRecord | undefined> {
    return this.keys.findById(caller.networkId, caller.apiKeyId);
  }
}
