import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-root';

export interface RunningService {
  readonly url: string;
  readonly baseUrl: string;
  readonly adminKey: string;
  readonly process: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const ROOT = projectRoot();
/**
 * The service built beside this script when it runs from a build (so a copy of an older build,
 * kept to compare against, starts its own service, not the tree's current one), else the tree's.
 */
const BUILT_BESIDE = join(__dirname, '..', '..', 'src', 'main.js');
const SERVICE_MAIN = existsSync(BUILT_BESIDE) ? BUILT_BESIDE : join(ROOT, 'dist/src/main.js');

/**
 * What `npm start` gives node (package.json's `start` script says the same; a test checks they
 * agree). A larger young generation: a transfer's request objects live while it waits for its
 * posting group (a few milliseconds), so with V8's default a scavenge would often find them still
 * alive, copy them and promote them to the old generation, to be collected again by a full mark.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
const MAX_OUTPUT_CHARS = 200_000;

/** Starts the built service (`dist/src/main.js`) as its own process, as `npm start` would. Used by the tests, the bench and the demo seed. */
export async function startService(
  databaseUrl: string,
  env: Record<string, string> = {},
  adminKey = `sl_test_${randomBytes(16).toString('hex')}`,
  /** Options for node itself (the bench's `--cpu-prof`). */
  nodeArgs: readonly string[] = [],
  /** In a process group of its own, as a terminal's foreground job is: a signal to the group (a Ctrl-C) reaches it and nothing else. */
  ownGroup = false,
): Promise<RunningService> {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...nodeArgs, SERVICE_MAIN], {
    cwd: ROOT,
    detached: ownGroup,
    env: { ...process.env, NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, ADMIN_API_KEY: adminKey, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Only the most recent output is kept, so a long run (the bench's soak) does not grow memory.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 60_000);
    const check = () => {
      const match = /GraphQL:\s+(http:\/\/localhost:\d+)\/graphql/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `${baseUrl}/graphql`,
    baseUrl,
    adminKey,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
