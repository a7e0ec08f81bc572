import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../scripts/lib/service-process';
import { projectRoot } from '../../src/common/project-root';

/** `npm start` and the service the tests, the bench and the demo seed start run node alike. */
describe('node flags of the service', () => {
  it('npm start passes the flags startService passes', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts.start ?? '';
    expect(start).toContain(`node ${SERVICE_NODE_FLAGS.join(' ')} dist/src/main.js`);
    expect(SERVICE_NODE_FLAGS).toContain('--max-semi-space-size=64');
  });
});
