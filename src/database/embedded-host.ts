import { startEmbeddedDatabase } from './embedded-postgres';

/**
 * The process that owns `npm start`'s embedded PostgreSQL (forked by `startEmbeddedDatabaseApart`
 * in a process group of its own). It starts the server under the data folder it is given, says
 * how it goes over its IPC channel (`HostMessage`), and stops the server when told to ('stop'), or
 * when the service's process ends without telling it (the channel closes), then exits.
 */
export type HostMessage = { readonly progress: string } | { readonly url: string } | { readonly error: string };

function tell(message: HostMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });
}

async function host(dataDir: string): Promise<void> {
  const database = await startEmbeddedDatabase({ dataDir, onProgress: (progress) => void tell({ progress }) });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void database.stop().finally(() => process.exit(0));
  };
  process.on('message', (message) => {
    if (message === 'stop') stop();
  });
  process.on('disconnect', stop);
  await tell({ url: database.url });
}

const dataDir = process.argv[2];
if (!dataDir || !process.send) {
  process.stderr.write('embedded-host: run by the service (startEmbeddedDatabaseApart), with the data folder as its argument\n');
  process.exit(2);
}
host(dataDir).catch(async (error: unknown) => {
  await tell({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
