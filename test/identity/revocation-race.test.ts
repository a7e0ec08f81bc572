import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/project-root';
import { createTestDatabase } from '../support/database';

/**
 * A revocation racing the cache fill of the same key never leaves the revoked key valid
 * (SPEC B.1, hole 9). The race is staged in process by scripts/lib/revocation-race-probe.ts:
 * the revocation commits and is heard between the lookup's row read and its cache fill.
 */
describe('a revocation racing the cache fill of the same key', () => {
  it('refuses the key afterwards: the lookup that read it before the revocation is not cached', async () => {
    const url = await createTestDatabase();
    const run = spawnSync(process.execPath, [join(projectRoot(), 'dist/scripts/lib/revocation-race-probe.js'), url], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout.trim()) as { keyId: string; connected: boolean; first: string; second: string };
    expect(result.connected).toBe(true);
    // Read before the revocation committed: served, as any request already in flight.
    expect(result.first).toBe(`OK ${result.keyId}`);
    expect(result.second).toBe('UNAUTHENTICATED');
  });
});
