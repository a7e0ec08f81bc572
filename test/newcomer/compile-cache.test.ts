import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../../scripts/lib/service-process';
import { createTestDatabase } from '../support/database';

/** Node 22.1 and later have a compile cache (docs/operations.md); the service turns it on, Node 20 has none. */
const supported = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe("the service's compile cache", () => {
  it(`${supported ? 'fills Node’s compile cache at start' : 'starts without one on a Node that has none'} (${process.version})`, async () => {
    // The cache's default folder is in the system's temporary folder: a fresh one here.
    const temporary = mkdtempSync(join(tmpdir(), 'compile-cache-'));
    try {
      // Stopped as soon as it prints its URL: the stop is graceful (exit code 0), and finds the cache written.
      const service = await startService(await createTestDatabase({ migrated: true }), { TMPDIR: temporary });
      await service.stop();
      expect([service.process.exitCode, service.process.signalCode]).toEqual([0, null]);
      const cache = join(temporary, 'node-compile-cache');
      // One folder per Node version, holding the entries (written once the service has started, src/common/compile-cache.ts).
      if (supported)
        expect(readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length).toBeGreaterThan(0);
      else expect(existsSync(cache)).toBe(false);
    } finally {
      rmSync(temporary, { recursive: true, force: true });
    }
  });
});
