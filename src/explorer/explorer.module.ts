import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { EXPLORER_CONTENT_SECURITY_POLICY, ExplorerAssets } from './explorer-assets';
import { ExplorerController } from './explorer.controller';

/**
 * The in-browser GraphQL explorer: its files under /explorer/ and, on GET /graphql, headers that
 * keep the page to this service's own files. The page itself is Apollo's landing page
 * (explorer.plugin.ts), so Apollo decides what is a browser and what is an API request.
 */
@Module({})
export class ExplorerModule implements NestModule {
  static forRoot(assets: ExplorerAssets): DynamicModule {
    return { module: ExplorerModule, controllers: [ExplorerController], providers: [{ provide: ExplorerAssets, useValue: assets }] };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
        res.setHeader('Content-Security-Policy', EXPLORER_CONTENT_SECURITY_POLICY);
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Referrer-Policy', 'no-referrer');
        next();
      })
      .forRoutes({ path: 'graphql', method: RequestMethod.GET });
  }
}
