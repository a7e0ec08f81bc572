/**
 * Monaco (the editor inside GraphiQL) runs its language services in web workers. They are
 * bundled next to this script at build time and loaded from the service itself, never from a
 * CDN, so the explorer works offline.
 */
type WorkerFactory = { getWorker(workerId: string, label: string): Worker };

function workerUrl(file: string): URL {
  return new URL(file, import.meta.url);
}

(globalThis as unknown as { MonacoEnvironment: WorkerFactory }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    switch (label) {
      case 'json':
        return new Worker(workerUrl('json.worker.js'));
      case 'graphql':
        return new Worker(workerUrl('graphql.worker.js'));
      default:
        return new Worker(workerUrl('editor.worker.js'));
    }
  },
};
