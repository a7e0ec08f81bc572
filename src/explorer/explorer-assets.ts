import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { projectRoot } from '../common/project-root';

/** Where `npm run build` (scripts/build-explorer.ts) writes the bundled explorer. */
export const EXPLORER_DIR = join(projectRoot(), 'dist', 'explorer');

/** The URL path the explorer's scripts, styles, fonts and workers are served under. */
export const EXPLORER_ASSET_PATH = '/explorer';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/** Text files are sent gzipped to browsers that accept it (the bundle is several megabytes). */
const COMPRESSIBLE = new Set(['.js', '.css', '.svg', '.txt']);

export interface ExplorerAsset {
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzipped: Buffer | undefined;
  readonly etag: string;
}

/**
 * The bundled explorer files, read once on first use and kept in memory. Only files that the
 * build wrote are served: a request names a file, never a path.
 */
export class ExplorerAssets {
  private files: Map<string, ExplorerAsset> | undefined;

  constructor(private readonly dir = EXPLORER_DIR) {}

  get built(): boolean {
    return existsSync(join(this.dir, 'explorer.js'));
  }

  get(name: string): ExplorerAsset | undefined {
    this.files ??= this.load();
    return this.files.get(name);
  }

  private load(): Map<string, ExplorerAsset> {
    const files = new Map<string, ExplorerAsset>();
    if (!existsSync(this.dir)) return files;
    for (const name of readdirSync(this.dir)) {
      const type = CONTENT_TYPES[extname(name)];
      if (!type || name.startsWith('.')) continue;
      const body = readFileSync(join(this.dir, name));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      files.set(name, { contentType: type, body, gzipped: COMPRESSIBLE.has(extname(name)) ? gzipSync(body) : undefined, etag });
    }
    return files;
  }
}

/** The page a browser gets at GET /graphql. */
export function explorerHtml(assets: ExplorerAssets): string {
  const body = assets.built
    ? `<div id="explorer"><p style="font-family: system-ui, sans-serif; padding: 1rem">Loading the GraphQL explorer…</p></div>
    <noscript>The explorer needs JavaScript. Without it, send GraphQL requests with curl: see the README.</noscript>`
    : `<p style="font-family: system-ui, sans-serif; padding: 1rem">The GraphQL explorer has not been built. Run <code>npm run build</code>
    (or <code>npm start</code>, which builds first), then reload this page. The API itself works: POST GraphQL requests to this address.</p>`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Solidarity Ledger · GraphQL explorer</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${EXPLORER_ASSET_PATH}/explorer.css" />
    <script type="module" src="${EXPLORER_ASSET_PATH}/explorer.js"></script>
  </head>
  <body>
    ${body}
  </body>
</html>
`;
}

/**
 * What the explorer page may load: only this service's own scripts, styles, fonts and workers,
 * and requests to this service's API. Inline styles are allowed because the editor sets them.
 */
export const EXPLORER_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
