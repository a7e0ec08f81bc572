import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessService } from './access.service';
import { ApiKeyRepository } from './api-key.repository';
import { ApiKeyService } from './api-key.service';
import { AuthGuard } from './auth.guard';
import { ApiKeyResolver, MeResolver } from './identity.resolver';
import { NetworkRepository } from './network.repository';
import { NetworkResolver } from './network.resolver';
import { NetworkService } from './network.service';
import { RateLimiter } from './rate-limiter';
import { ReadRules } from './read-rules';

export const IDENTITY_RESOLVERS = [ApiKeyResolver, MeResolver, NetworkResolver];

@Global()
@Module({
  providers: [
    ...IDENTITY_RESOLVERS,
    ApiKeyRepository,
    ApiKeyService,
    NetworkRepository,
    NetworkService,
    AccessService,
    ReadRules,
    RateLimiter,
    AuthGuard,
    // One guard object: resolvers that graphql-js calls directly ask it too (AuthGuard.authorize).
    { provide: APP_GUARD, useExisting: AuthGuard },
  ],
  exports: [ApiKeyService, AccessService, ReadRules, RateLimiter, AuthGuard],
})
export class IdentityModule {}
