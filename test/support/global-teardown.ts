import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as { __EMBEDDED_DB__?: { db: { stop(): Promise<void> }; dataDir: string } }).__EMBEDDED_DB__;
  if (!embedded) return;
  await embedded.db.stop();
  rmSync(embedded.dataDir, { recursive: true, force: true });
}
