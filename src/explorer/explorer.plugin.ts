import type { ApolloDriverConfig } from '@nestjs/apollo';
import { type ExplorerAssets, explorerHtml } from './explorer-assets';

/** Apollo's plugin type as the Nest driver sees it (the CommonJS build of @apollo/server). */
type ApolloPlugin = NonNullable<ApolloDriverConfig['plugins']>[number];

/**
 * Serves the explorer as Apollo's landing page: Apollo answers a GET that prefers text/html (a
 * browser) with this page, before any GraphQL parsing, CSRF check or execution. Every other
 * request (POST, or a GET asking for JSON) is the API, with CSRF prevention as before.
 */
export function explorerLandingPage(assets: ExplorerAssets): ApolloPlugin {
  return {
    serverWillStart() {
      return Promise.resolve({
        renderLandingPage: () => Promise.resolve({ html: () => Promise.resolve(explorerHtml(assets)) }),
      });
    },
  };
}
