import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { DomainError, ErrorCode } from '../common/domain-error';
import { domainErrorToGraphQL } from '../graphql/error-mapping';
import { noteApiKey } from '../observability/request-context';
import { ApiKeyService, bearer, MISSING_KEY_MESSAGE } from './api-key.service';

export { bearer };
import type { Caller, Role } from './caller';
import { RateLimiter } from './rate-limiter';

export const ROLES_KEY = 'ledger:roles';

/** The roles that may call a resolver. A resolver without it is refused to everyone. */
export const Allow = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** What the guard leaves on the GraphQL context, for HTTP requests and WebSocket operations alike. */
export interface LedgerContext {
  req?: { headers: Record<string, string | string[] | undefined>; caller?: Caller; requestId?: string; ip?: string };
  connectionParams?: Record<string, unknown>;
  /** The client's address over graphql-ws (over HTTP it is `req.ip`): limits requests without a valid key. */
  address?: string;
  /** The graphql-ws socket an operation runs on (for its logs and limits). */
  connection?: unknown;
  caller?: Caller;
  /** The one authentication of this request (or socket operation), shared by all its root fields. */
  authenticating?: Promise<Caller>;
}

function secretOf(ctx: LedgerContext): string | undefined {
  const header = ctx.req?.headers.authorization;
  if (header !== undefined) return bearer(Array.isArray(header) ? header[0] : header);
  const params = ctx.connectionParams ?? {};
  return bearer(params.authorization ?? params.Authorization);
}

/**
 * The one guard every resolver goes through: authenticates the API key (refusing unknown and
 * revoked keys), applies the per-key rate limit, and checks the resolver's allowed roles.
 * Finer scoping (which party's accounts) is the services' job, through AccessService.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * Synchronous once the request's caller is known (every root field after the first, and the
   * first too when the key is cached): the guard runs once per root field, aliases included.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType<string>() !== 'graphql') return true;
    const ctx = GqlExecutionContext.create(context).getContext<LedgerContext>();
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    const caller = this.authorize(ctx, roles);
    return caller instanceof Promise ? caller.then(() => true) : true;
  }

  /**
   * What the guard decides for one root field, for resolvers that graphql-js calls directly
   * (see `resolveDirectly`): the request's caller, once it is authenticated, within its rate
   * limit and of one of `roles`; otherwise the same refusal the guard throws.
   */
  authorize(ctx: LedgerContext, roles: readonly Role[] | undefined): Caller | Promise<Caller> {
    if (ctx.caller) return this.allowed(roles, ctx.caller);
    // One authentication per request: every alias of `me` waits on the same lookup, or its refusal.
    if (!ctx.authenticating) {
      const address = ctx.req?.ip ?? ctx.address ?? 'unknown';
      let known: Caller | Promise<Caller>;
      try {
        // An address out of allowance costs no lookup; a key already known goes on regardless.
        known = this.keys.authenticate(secretOf(ctx), () => this.limiter.checkAnonymous(address));
      } catch (error) {
        ctx.authenticating = Promise.reject(this.refusal(error, address));
        return ctx.authenticating;
      }
      if (!(known instanceof Promise)) return this.allowed(roles, this.admit(ctx, known));
      ctx.authenticating = known.then(
        (caller) => this.admit(ctx, caller),
        (error: unknown) => Promise.reject(this.refusal(error, address)),
      );
    }
    return ctx.authenticating.then((caller) => this.allowed(roles, caller));
  }

  /** The request's caller, once: logs name its key, and the key's rate limit is taken once per request. */
  private admit(ctx: LedgerContext, caller: Caller): Caller {
    if (ctx.req) {
      ctx.req.caller = caller;
      // Logs and metrics of this request name the key by its id (never its secret).
      noteApiKey(ctx.req, caller.apiKeyId);
    }
    try {
      this.limiter.take(caller);
    } catch (error) {
      // Carries the HTTP status and Retry-After header of a RATE_LIMITED refusal.
      throw error instanceof DomainError ? domainErrorToGraphQL(error) : error;
    }
    ctx.caller = caller;
    return caller;
  }

  /** A request without a valid key spends its client address's allowance; beyond it, RATE_LIMITED. */
  private refusal(error: unknown, address: string): Error {
    if (!(error instanceof DomainError)) return error instanceof Error ? error : new Error(String(error));
    if (error.code === ErrorCode.UNAUTHENTICATED) {
      try {
        this.limiter.takeAnonymous(address);
      } catch (limited) {
        return limited instanceof DomainError ? domainErrorToGraphQL(limited) : (limited as Error);
      }
    }
    return error.code === ErrorCode.RATE_LIMITED ? domainErrorToGraphQL(error) : error;
  }

  private allowed(roles: readonly Role[] | undefined, caller: Caller): Caller {
    if (!roles?.includes(caller.role)) {
      throw new DomainError(ErrorCode.FORBIDDEN, `A ${caller.role} key may not do this`);
    }
    return caller;
  }
}

/** The network of the key making a request, from its GraphQL context (for field resolvers and their loaders). */
export function contextNetwork(context: object): string {
  const caller = (context as LedgerContext).caller;
  if (!caller) throw new DomainError(ErrorCode.UNAUTHENTICATED, MISSING_KEY_MESSAGE);
  return caller.networkId;
}

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = GqlExecutionContext.create(context).getContext<LedgerContext>().caller;
  if (!caller) throw new DomainError(ErrorCode.UNAUTHENTICATED, MISSING_KEY_MESSAGE);
  return caller;
});
