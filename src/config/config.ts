/**
 * Configuration is read from the environment once, at start-up, into one typed object.
 * Every limit the service enforces lives here so an operator can find and change it.
 */
export interface AppConfig {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  /** When unset, an embedded PostgreSQL is started under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Read-only reports may be sent to a streaming replica. */
  readonly databaseReadUrl: string | undefined;
  /**
   * A session of its own for migrations (advisory lock) and LISTEN, when DATABASE_URL goes
   * through a pooler in transaction mode (pgbouncer), which cannot hold either. Defaults to
   * DATABASE_URL.
   */
  readonly databaseDirectUrl: string | undefined;
  readonly dataDir: string;
  readonly adminApiKey: string | undefined;
  readonly poolSize: number;
  /** Default credit limit of TIME accounts when `openAccount` gives none, in hours. */
  readonly defaultTimeCreditLimit: string;
  readonly introspection: boolean;
  /** Serve the in-browser GraphQL explorer at GET /graphql (browsers) and its files at /explorer/. */
  readonly explorer: boolean;
  readonly maxQueryDepth: number;
  /** Estimated cost ceiling of one operation: see src/graphql/query-cost.ts for the model. */
  readonly maxQueryComplexity: number;
  /** Lexical tokens one GraphQL document may hold, so parsing and validation stay cheap. */
  readonly maxQueryTokens: number;
  /**
   * Serve plain GraphQL POSTs (a JSON body, a document that parsed and validated before) without
   * Apollo's per-request pipeline (src/graphql/direct-http.ts); everything else goes to Apollo.
   * On by default; GRAPHQL_DIRECT_HTTP=false sends every request through Apollo.
   */
  readonly graphqlDirectHttp: boolean;
  readonly maxBodyBytes: number;
  /** Requests per second allowed per API key; 0 turns rate limiting off. */
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  /** Requests per second without a valid key allowed per client address (when rate limiting is on). */
  readonly rateLimitAnonymousPerSecond: number;
  readonly rateLimitAnonymousBurst: number;
  /** Requests per second allowed per network, all its keys together; 0 turns it off (SPEC B.3). */
  readonly rateLimitNetworkPerSecond: number;
  readonly rateLimitNetworkBurst: number;
  /** API key ids never rate limited (the bench's keys, a trusted batch integration). */
  readonly rateLimitExemptKeyIds: ReadonlySet<string>;
  /** graphql-ws: largest message (a larger one closes the socket), operations at once per socket and per key. */
  readonly wsMaxMessageBytes: number;
  readonly wsMaxSubscriptionsPerSocket: number;
  readonly wsMaxSubscriptionsPerKey: number;
  /** Web origins (scheme://host[:port]) allowed to call the API from a browser (CORS_ORIGINS, comma-separated). */
  readonly corsOrigins: ReadonlySet<string>;
  /** Serve Prometheus metrics at GET /metrics. */
  readonly metricsEnabled: boolean;
  /** Serve /metrics without a key (default false: an ADMIN or AUDITOR key is required). */
  readonly metricsPublic: boolean;
  /** Most commands posted together in one database transaction (group commit). */
  readonly postingGroupMax: number;
  /** Groups sent to the database at once by one instance (the next waits on the head lock). */
  readonly postingGroupsInFlight: number;
  readonly holdSweepIntervalMs: number;
  /**
   * How often this instance rolls closed days up for activity reports (ACTIVITY_ROLLUP_INTERVAL_MS,
   * default 30 s); 0: never in this instance (another must). See docs/reports.md.
   */
  readonly activityRollupIntervalMs: number;
  /** Most transactions one rolled-up period holds: a longer day is cut in several (bounds the worker's transaction). */
  readonly activityRollupMaxTransactions: number;
  /** A provider's claim holds the receiver's hours this long at most, then expires (EXCHANGE_CLAIM_TTL_DAYS, default 14). */
  readonly exchangeClaimTtlMs: number;
  /** Pending claims one provider account may have at once (MAX_PENDING_CLAIMS, default 20). */
  readonly maxPendingClaims: number;
  /** Largest `exportJournal` answer over GraphQL; larger exports stream from GET /exports/journal. */
  readonly exportMaxStringBytes: number;
  readonly logLevel: string;
  /** Webhooks (docs/webhooks.md): first retry delay; later ones grow from it. */
  readonly webhookRetryMinMs: number;
  /** How long a delivery is retried before it is FAILED (24 hours). */
  readonly webhookRetryWindowMs: number;
  /** A receiver has this long to answer with a 2xx. */
  readonly webhookTimeoutMs: number;
  /** Deliveries in flight per instance, and per webhook (so one slow receiver never takes them all). */
  readonly webhookConcurrency: number;
  readonly webhookConcurrencyPerWebhook: number;
  /**
   * Requests one fast receiver may have outstanding on its one pipelined connection
   * (WEBHOOK_PIPELINE_DEPTH): the connection counts once against WEBHOOK_CONCURRENCY, and a
   * receiver that slows down goes back to WEBHOOK_CONCURRENCY_PER_WEBHOOK connections of its own.
   */
  readonly webhookPipelineDepth: number;
  /**
   * The nice value of the thread that sends webhook deliveries (0 to 19; Linux): above the service's, so that when every core
   * is busy the posting path comes first and deliveries wait (docs/webhooks.md).
   */
  readonly webhookSenderNice: number;
  /** How often an idle dispatcher looks for new events and due deliveries. */
  readonly webhookPollMs: number;
  /** Loopback, private and link-local receivers; refused in production unless set. */
  readonly webhookAllowPrivate: boolean;
  /**
   * TRANSACTION_POSTED outbox rows name their transaction rather than carry a copy of it
   * (WEBHOOK_EVENTS_BY_REFERENCE, migrations/0034): always (true), never (false), or, by default
   * ('auto'), while no instance of an earlier release is connected to the database, since a
   * version before 0034 cannot read such rows (docs/operations.md, Upgrades).
   */
  readonly webhookEventsByReference: boolean | 'auto';
  /** Key material for the webhook secrets at rest; defaults to the admin key (docs/webhooks.md). */
  readonly webhookSecretKey: string | undefined;
  /** Delivered deliveries, and outbox events with nothing left to deliver, are deleted this long after (WEBHOOK_RETENTION_DAYS, default 7). */
  readonly webhookRetentionMs: number;
  /**
   * LOG_FORMAT: `json` lines, or `pretty` text for a person. Default: pretty in development when
   * stdout is a terminal, JSON otherwise (production, tests, a pipe into a log shipper).
   */
  readonly logFormat: 'json' | 'pretty';
  /**
   * Tests only (CLOCK_OFFSET_MS, refused in production): shifts this instance's own clock, which
   * now only dates what the instance writes about itself (an export's "exported at"). Ledger time
   * comes from the database; a test starts one instance with an offset to show it stays so.
   */
  readonly clockOffsetMs: number;
  /**
   * How long a posting group whose COMMIT was not acknowledged is asked after (the database may
   * be restarting) before the callers get OUTCOME_UNKNOWN (POSTING_COMMIT_CHECK_MS, default 20 s).
   */
  readonly commitCheckMs: number;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

const DAY_MS = 86_400_000;

/**
 * A number of days, whole or decimal ("14", "0.5"); tests use a fraction of a day. Days of more
 * than a year would let a claim hold someone's hours for longer than anyone remembers it.
 */
function daysFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, maxDays: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * DAY_MS;
  if (!/^\d{1,4}(\.\d{1,8})?$/.test(raw)) throw new Error(`${name} must be a number of days such as "14" or "0.5", got "${raw}"`);
  const ms = Math.round(Number(raw) * DAY_MS);
  if (ms < 1000 || ms > maxDays * DAY_MS) throw new Error(`${name} must be between 1 second and ${maxDays} days, got ${raw}`);
  return ms;
}

/** The words a boolean setting may be written as; undefined for any other. */
function boolWord(raw: string): boolean | undefined {
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  return undefined;
}

function boolFrom(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = boolWord(raw);
  if (value === undefined) throw new Error(`${name} must be true or false, got "${raw}"`);
  return value;
}

/** true, false, or `auto` (also when unset). */
function boolOrAutoFrom(env: NodeJS.ProcessEnv, name: string): boolean | 'auto' {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw.toLowerCase() === 'auto') return 'auto';
  const value = boolWord(raw);
  if (value === undefined) throw new Error(`${name} must be true, false or auto, got "${raw}"`);
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function idsFrom(env: NodeJS.ProcessEnv, name: string): ReadonlySet<string> {
  const raw = env[name] ?? '';
  const ids = raw
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const bad = ids.find((id) => !UUID.test(id));
  if (bad !== undefined) throw new Error(`${name} must be a comma-separated list of API key ids, got "${bad}"`);
  return new Set(ids.map((id) => id.toLowerCase()));
}

/** At least 32 characters: the first admin key opens everything, so it must not be guessable. */
export const MIN_ADMIN_KEY_LENGTH = 32;

/**
 * Checked when the service starts, not in loadConfig: scripts that only send the key as a client
 * (the demo seed) should report the server's refusal, not this rule.
 */
export function checkAdminKey(config: AppConfig): void {
  const key = config.adminApiKey;
  if (key !== undefined && (key.length < MIN_ADMIN_KEY_LENGTH || /\s/.test(key))) {
    throw new Error(
      `ADMIN_API_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters without spaces (got ${key.length}); generate one with: openssl rand -base64 32`,
    );
  }
}

function originsFrom(env: NodeJS.ProcessEnv): ReadonlySet<string> {
  const origins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const bad = origins.find((o) => !/^https?:\/\/[^/\s]+$/.test(o));
  if (bad !== undefined) throw new Error(`CORS_ORIGINS must list origins such as https://app.example.org, got "${bad}"`);
  return new Set(origins);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Only unset, `development` and `test` mean development (SPEC B.1): `staging` or a typo must not
  // turn on introspection, raw errors and a generated admin key.
  const raw = env.NODE_ENV ?? '';
  const nodeEnv = raw === 'test' ? 'test' : raw === '' || raw === 'development' ? 'development' : 'production';
  const isProduction = nodeEnv === 'production';
  const defaultTimeCreditLimit = env.DEFAULT_TIME_CREDIT_LIMIT ?? '10';
  if (!/^\d{1,6}(\.\d{1,2})?$/.test(defaultTimeCreditLimit)) {
    throw new Error(`DEFAULT_TIME_CREDIT_LIMIT must be a number of hours such as "10" or "7.5", got "${defaultTimeCreditLimit}"`);
  }
  const introspection = boolFrom(env, 'GRAPHQL_INTROSPECTION', !isProduction);
  return {
    nodeEnv,
    isProduction,
    port: intFrom(env, 'PORT', 4000, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    databaseReadUrl: env.DATABASE_READ_URL || undefined,
    databaseDirectUrl: env.DATABASE_DIRECT_URL || undefined,
    dataDir: env.DATA_DIR ?? '.data',
    adminApiKey: env.ADMIN_API_KEY || undefined,
    poolSize: intFrom(env, 'DATABASE_POOL_SIZE', 10, 2, 200),
    defaultTimeCreditLimit,
    introspection,
    explorer: boolFrom(env, 'GRAPHQL_EXPLORER', introspection),
    maxQueryDepth: intFrom(env, 'GRAPHQL_MAX_DEPTH', 10, 2, 50),
    maxQueryComplexity: intFrom(env, 'GRAPHQL_MAX_COMPLEXITY', 5000, 10, 1_000_000),
    maxQueryTokens: intFrom(env, 'GRAPHQL_MAX_TOKENS', 20_000, 100, 1_000_000),
    graphqlDirectHttp: boolFrom(env, 'GRAPHQL_DIRECT_HTTP', true),
    maxBodyBytes: intFrom(env, 'MAX_BODY_BYTES', 2_000_000, 1_000, 100_000_000),
    // On by default, high enough that a busy credit-union integration never meets it; 0 turns every limit off (benchmarks).
    rateLimitPerSecond: intFrom(env, 'RATE_LIMIT_PER_SECOND', 1000, 0, 1_000_000),
    rateLimitBurst: intFrom(env, 'RATE_LIMIT_BURST', 2000, 1, 1_000_000),
    rateLimitAnonymousPerSecond: intFrom(env, 'RATE_LIMIT_ANONYMOUS_PER_SECOND', 10, 1, 1_000_000),
    rateLimitAnonymousBurst: intFrom(env, 'RATE_LIMIT_ANONYMOUS_BURST', 50, 1, 1_000_000),
    rateLimitNetworkPerSecond: intFrom(env, 'RATE_LIMIT_NETWORK_PER_SECOND', 0, 0, 1_000_000),
    rateLimitNetworkBurst: intFrom(env, 'RATE_LIMIT_NETWORK_BURST', 1000, 1, 1_000_000),
    rateLimitExemptKeyIds: idsFrom(env, 'RATE_LIMIT_EXEMPT_KEYS'),
    wsMaxMessageBytes: intFrom(env, 'WS_MAX_MESSAGE_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    wsMaxSubscriptionsPerSocket: intFrom(env, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 20, 1, 10_000),
    wsMaxSubscriptionsPerKey: intFrom(env, 'WS_MAX_SUBSCRIPTIONS_PER_KEY', 100, 1, 100_000),
    corsOrigins: originsFrom(env),
    metricsEnabled: boolFrom(env, 'METRICS_ENABLED', true),
    metricsPublic: boolFrom(env, 'METRICS_PUBLIC', false),
    postingGroupMax: intFrom(env, 'POSTING_GROUP_MAX', 200, 1, 2000),
    postingGroupsInFlight: intFrom(env, 'POSTING_GROUPS_IN_FLIGHT', 1, 1, 8),
    holdSweepIntervalMs: intFrom(env, 'HOLD_SWEEP_INTERVAL_MS', 1000, 50, 3_600_000),
    activityRollupIntervalMs: intFrom(env, 'ACTIVITY_ROLLUP_INTERVAL_MS', 30_000, 0, 3_600_000),
    activityRollupMaxTransactions: intFrom(env, 'ACTIVITY_ROLLUP_MAX_TRANSACTIONS', 100_000, 1, 10_000_000),
    exchangeClaimTtlMs: daysFrom(env, 'EXCHANGE_CLAIM_TTL_DAYS', 14, 365),
    maxPendingClaims: intFrom(env, 'MAX_PENDING_CLAIMS', 20, 1, 10_000),
    exportMaxStringBytes: intFrom(env, 'EXPORT_MAX_STRING_BYTES', 8 * 1024 * 1024, 1000, 256 * 1024 * 1024),
    logLevel: logLevelFrom(env, nodeEnv),
    logFormat: logFormatFrom(env, nodeEnv),
    clockOffsetMs: clockOffsetFrom(env, isProduction),
    webhookRetryMinMs: intFrom(env, 'WEBHOOK_RETRY_MIN_MS', 10_000, 10, 3_600_000),
    webhookRetryWindowMs: intFrom(env, 'WEBHOOK_RETRY_WINDOW_MS', 24 * 3_600_000, 1000, 7 * 24 * 3_600_000),
    webhookTimeoutMs: intFrom(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    webhookConcurrency: intFrom(env, 'WEBHOOK_CONCURRENCY', 16, 1, 256),
    webhookConcurrencyPerWebhook: intFrom(env, 'WEBHOOK_CONCURRENCY_PER_WEBHOOK', 4, 1, 64),
    webhookPipelineDepth: intFrom(env, 'WEBHOOK_PIPELINE_DEPTH', 128, 1, 256),
    webhookSenderNice: intFrom(env, 'WEBHOOK_SENDER_NICE', 10, 0, 19),
    webhookPollMs: intFrom(env, 'WEBHOOK_POLL_MS', 500, 10, 60_000),
    webhookAllowPrivate: boolFrom(env, 'WEBHOOK_ALLOW_PRIVATE', !isProduction),
    webhookEventsByReference: boolOrAutoFrom(env, 'WEBHOOK_EVENTS_BY_REFERENCE'),
    webhookSecretKey: secretKeyFrom(env),
    webhookRetentionMs: daysFrom(env, 'WEBHOOK_RETENTION_DAYS', 7, 3650),
    commitCheckMs: intFrom(env, 'POSTING_COMMIT_CHECK_MS', 20_000, 100, 600_000),
  };
}

function logFormatFrom(env: NodeJS.ProcessEnv, nodeEnv: AppConfig['nodeEnv']): 'json' | 'pretty' {
  const raw = (env.LOG_FORMAT ?? '').toLowerCase();
  if (raw === 'json' || raw === 'pretty') return raw;
  if (raw !== '') throw new Error(`LOG_FORMAT must be json or pretty, got "${env.LOG_FORMAT}"`);
  return nodeEnv === 'development' && process.stdout.isTTY === true ? 'pretty' : 'json';
}

function clockOffsetFrom(env: NodeJS.ProcessEnv, isProduction: boolean): number {
  const raw = env.CLOCK_OFFSET_MS;
  if (raw === undefined || raw === '') return 0;
  if (isProduction) throw new Error('CLOCK_OFFSET_MS is for tests only and is refused in production');
  const limit = 366 * 24 * 3_600_000;
  if (!/^-?\d{1,11}$/.test(raw) || Math.abs(Number(raw)) > limit) {
    throw new Error(`CLOCK_OFFSET_MS must be a whole number of milliseconds within a year, got "${raw}"`);
  }
  return Number(raw);
}

function secretKeyFrom(env: NodeJS.ProcessEnv): string | undefined {
  const key = env.WEBHOOK_SECRET_KEY || undefined;
  if (key !== undefined && key.length < 32) throw new Error('WEBHOOK_SECRET_KEY must be at least 32 characters');
  return key;
}

function logLevelFrom(env: NodeJS.ProcessEnv, nodeEnv: AppConfig['nodeEnv']): string {
  const level = (env.LOG_LEVEL || (nodeEnv === 'test' ? 'warn' : 'info')).toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
