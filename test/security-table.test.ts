import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/common/project-root';

/**
 * The role × operation × field table of docs/security.md is generated from the resolvers'
 * `@Allow` and `@ReadRule` metadata. This test is its snapshot: a change to who may call an
 * operation or read a field fails here until the table is regenerated (npm run security:table)
 * and the diff reviewed; a field reaching a transaction, hold, exchange or account without a read
 * rule fails here too.
 */
describe('the published role × operation × field table', () => {
  it('matches what the resolvers declare, and every field reaching a ledger object declares its read rule', () => {
    const run = spawnSync(process.execPath, [join(projectRoot(), 'dist/scripts/security-table.js'), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('docs/security.md is up to date');
    expect(run.status).toBe(0);
  });
});
