import { type DynamicModule, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { EXPLORER_CONTENT_SECURITY_POLICY, ExplorerAssets } from './explorer-assets';
import { ExplorerController } from './explorer.controller';

/**
 * The in-browser GraphQL explorer: its files under /explorer/ and, on GET /graphql, headers that
 * keep the page to this service's own files. The page itself is Apollo's landing page
 * (explorer.plugin.ts), so Apollo decides what is a browser and what is an API request.
 */
@Module({})
export class ExplorerModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  static forRoot(assets: ExplorerAssets): DynamicModule {
    return { module: ExplorerModule, controllers: [ExplorerController], providers: [{ provide: ExplorerAssets, useValue: assets }] };
  }

  /** A Fastify hook rather than Nest middleware: it costs POST requests one comparison. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'GET' && (request.url === '/graphql' || request.url.startsWith('/graphql?'))) {
        void reply.header('content-security-policy', EXPLORER_CONTENT_SECURITY_POLICY);
        void reply.header('x-content-type-options', 'nosniff');
        void reply.header('referrer-policy', 'no-referrer');
      }
      done();
    });
  }
}
