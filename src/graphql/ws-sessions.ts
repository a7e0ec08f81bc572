import type { Metrics } from '../observability/metrics';
import type { Logger } from '../observability/logger';

/** The limits of graphql-ws sockets (SPEC B.1). */
export interface WsPolicy {
  readonly maxMessageBytes: number;
  readonly maxSubscriptionsPerSocket: number;
  readonly maxSubscriptionsPerKey: number;
}

/** What graphql-ws gives each hook about a socket: its open operations, and the socket itself. */
export interface WsConnection {
  readonly subscriptions: Readonly<Record<string, unknown>>;
  readonly connectionParams?: Readonly<Record<string, unknown>>;
  readonly extra: {
    readonly socket: { close(code: number, reason: string): void };
    readonly request?: { socket?: { remoteAddress?: string } };
  };
}

export interface WsCaller {
  readonly apiKeyId: string;
}

/** graphql-ws closes a socket with 4403 when its key is refused or revoked. */
export const WS_FORBIDDEN = 4403;

/**
 * The open graphql-ws sockets of this instance, by API key: for the subscription limits per key,
 * and to close a revoked key's sockets at once. The identity module installs `authenticate`
 * (and hands over the metrics) at start-up: this cross-cutting folder knows no API keys.
 */
export class WsSessions {
  authenticate: ((secret: string | undefined) => WsCaller | Promise<WsCaller>) | undefined;
  metrics: Metrics | undefined;
  private readonly byKey = new Map<string, Set<WsConnection>>();
  private readonly callers = new WeakMap<WsConnection, WsCaller>();

  constructor(
    readonly policy: WsPolicy,
    readonly logger: Logger,
  ) {}

  /** At connection_init: a valid key, or the socket is closed (graphql-ws answers false with 4403). */
  async admit(connection: WsConnection, secret: string | undefined): Promise<boolean> {
    if (!this.authenticate) return false;
    try {
      const caller = await this.authenticate(secret);
      this.callers.set(connection, caller);
      let sockets = this.byKey.get(caller.apiKeyId);
      if (!sockets) {
        sockets = new Set();
        this.byKey.set(caller.apiKeyId, sockets);
      }
      sockets.add(connection);
      return true;
    } catch {
      return false;
    }
  }

  callerOf(connection: WsConnection): WsCaller | undefined {
    return this.callers.get(connection);
  }

  /** Why a new operation may not start on this socket, or undefined when it may. Counts include it. */
  refusal(connection: WsConnection): string | undefined {
    const { maxSubscriptionsPerSocket, maxSubscriptionsPerKey } = this.policy;
    if (Object.keys(connection.subscriptions).length > maxSubscriptionsPerSocket) {
      return `At most ${maxSubscriptionsPerSocket} operations at once per socket: complete one first`;
    }
    const caller = this.callers.get(connection);
    const sockets = caller ? this.byKey.get(caller.apiKeyId) : undefined;
    let open = 0;
    for (const socket of sockets ?? []) open += Object.keys(socket.subscriptions).length;
    if (open > maxSubscriptionsPerKey) return `At most ${maxSubscriptionsPerKey} operations at once per API key: complete one first`;
    return undefined;
  }

  closed(connection: WsConnection): void {
    const caller = this.callers.get(connection);
    if (!caller) return;
    const sockets = this.byKey.get(caller.apiKeyId);
    sockets?.delete(connection);
    if (sockets?.size === 0) this.byKey.delete(caller.apiKeyId);
  }

  /** Closes every socket of a revoked key. */
  closeKey(apiKeyId: string): void {
    for (const connection of this.byKey.get(apiKeyId) ?? []) connection.extra.socket.close(WS_FORBIDDEN, 'API key revoked');
    this.byKey.delete(apiKeyId);
  }

  /** One line and one count per operation, as for HTTP requests (operation: the first root field). */
  observe(connection: WsConnection, operation: string, outcome: string, startedNs: bigint): void {
    const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
    this.metrics?.observeRequest(operation, outcome, seconds);
    if (!this.logger.isLevelEnabled('info')) return;
    const caller = this.callers.get(connection);
    this.logger.info(
      {
        transport: 'graphql-ws',
        ...(caller ? { apiKeyId: caller.apiKeyId } : {}),
        address: connection.extra.request?.socket?.remoteAddress,
        durationMs: Math.round(seconds * 10_000) / 10,
        operation,
        outcome,
      },
      'request',
    );
  }
}

/**
 * Caps the size of one WebSocket message (ws buffers a whole message before graphql-ws sees it;
 * its default is 100 MiB). The server is made by @nestjs/graphql without a way to pass the
 * option, so it is set on the server it made; a change of that shape fails the start, loudly.
 */
export function limitWebSocketMessages(graphqlModule: unknown, maxBytes: number): void {
  const adapter = (graphqlModule as { graphQlAdapter?: { _subscriptionService?: { wss?: { options?: { maxPayload?: number } } } } })
    .graphQlAdapter;
  const options = adapter?._subscriptionService?.wss?.options;
  if (!options) throw new Error('the graphql-ws server was not found: the WebSocket message size limit cannot be applied');
  options.maxPayload = maxBytes;
}
