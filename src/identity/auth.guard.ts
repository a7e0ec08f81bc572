import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { DomainError, ErrorCode } from '../common/domain-error';
import { domainErrorToGraphQL } from '../graphql/error-mapping';
import { noteApiKey } from '../observability/request-context';
import { ApiKeyService, MISSING_KEY_MESSAGE } from './api-key.service';
import type { Caller, Role } from './caller';
import { RateLimiter } from './rate-limiter';

export const ROLES_KEY = 'ledger:roles';

/** The roles that may call a resolver. A resolver without it is refused to everyone. */
export const Allow = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** What the guard leaves on the GraphQL context, for HTTP requests and WebSocket operations alike. */
export interface LedgerContext {
  req?: { headers: Record<string, string | string[] | undefined>; caller?: Caller; requestId?: string };
  connectionParams?: Record<string, unknown>;
  caller?: Caller;
}

export function bearer(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
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

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType<string>() !== 'graphql') return true;
    const ctx = GqlExecutionContext.create(context).getContext<LedgerContext>();
    const caller = ctx.caller ?? (await this.keys.authenticate(secretOf(ctx)));
    if (!ctx.caller) {
      if (ctx.req) {
        ctx.req.caller = caller;
        // Logs and metrics of this request name the key by its id (never its secret).
        noteApiKey(ctx.req, caller.apiKeyId);
      }
      try {
        this.limiter.take(caller.apiKeyId);
      } catch (error) {
        // Carries the HTTP status and Retry-After header of a RATE_LIMITED refusal.
        throw error instanceof DomainError ? domainErrorToGraphQL(error) : error;
      }
      ctx.caller = caller;
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles?.includes(caller.role)) {
      throw new DomainError(ErrorCode.FORBIDDEN, `A ${caller.role} key may not do this`);
    }
    return true;
  }
}

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = GqlExecutionContext.create(context).getContext<LedgerContext>().caller;
  if (!caller) throw new DomainError(ErrorCode.UNAUTHENTICATED, MISSING_KEY_MESSAGE);
  return caller;
});
