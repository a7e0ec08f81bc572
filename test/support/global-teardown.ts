import { rmSync } from 'node:fs';
import { dropTemplate } from './database';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as { __EMBEDDED_DB__?: { db: { stop(): Promise<void> }; dataDir: string } }).__EMBEDDED_DB__;
  if (!embedded) {
    // A server of DATABASE_URL outlives the run: the template goes (the test files' databases stay, to be looked at).
    const template = process.env.TEST_TEMPLATE_DATABASE;
    if (template) await dropTemplate(template);
    return;
  }
  await embedded.db.stop();
  rmSync(embedded.dataDir, { recursive: true, force: true });
}
