import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from '../src/common/project-root';

/**
 * Bundles the GraphQL explorer (explorer/main.tsx: GraphiQL, React, Monaco and their CSS and
 * fonts) into dist/explorer/, so the service serves it itself and a browser needs no network.
 * Part of `npm run build`; skipped when neither the sources nor the bundled packages changed.
 */
const root = projectRoot();
const sourceDir = join(root, 'explorer');
const outDir = join(root, 'dist', 'explorer');
const stampFile = join(outDir, '.stamp');

/** Packages whose version changes the bundle. */
const BUNDLED_PACKAGES = [
  'graphiql',
  '@graphiql/react',
  '@graphiql/toolkit',
  'monaco-editor',
  'monaco-graphql',
  'react',
  'react-dom',
  'esbuild',
];

function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(sourceDir).sort()) {
    hash.update(file).update(readFileSync(join(sourceDir, file)));
  }
  for (const name of BUNDLED_PACKAGES) {
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    hash.update(`${name}@${manifest.version}`);
  }
  return hash.digest('hex');
}

/** Monaco's language services run in web workers: each is its own self-contained script. */
const WORKERS: Record<string, string> = {
  'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
  'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
  'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
};

async function main(): Promise<void> {
  const started = Date.now();
  const stamp = inputsHash();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  process.stdout.write('Bundling the GraphQL explorer (GraphiQL) into dist/explorer/ …\n');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common = {
    bundle: true,
    minify: true,
    legalComments: 'linked',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    absWorkingDir: root,
  } as const;
  await build({
    ...common,
    entryPoints: { explorer: join(sourceDir, 'main.tsx') },
    outdir: outDir,
    format: 'esm',
    jsx: 'automatic',
    loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
    assetNames: '[name]-[hash]',
  });
  await build({ ...common, entryPoints: WORKERS, outdir: outDir, format: 'iife' });
  writeFileSync(stampFile, stamp);
  process.stdout.write(`Explorer bundled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Could not bundle the GraphQL explorer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
