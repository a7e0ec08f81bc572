import * as nodeModule from 'node:module';

/**
 * Most of a start is loading modules (the service's and its dependencies'). Node 22.1 and later
 * can keep the code it compiles from them in a cache on disk and read it back at the next start
 * instead of compiling again (`module.enableCompileCache`; each entry is checked against its
 * source). main.ts imports this first, so it covers every module loaded after it. Node 20 has no
 * such cache: there this does nothing. Node's own variables apply: NODE_DISABLE_COMPILE_CACHE=1
 * turns it off, NODE_COMPILE_CACHE=<dir> chooses the folder (by default one in the system's
 * temporary folder).
 */
const node = nodeModule as { enableCompileCache?: () => unknown; flushCompileCache?: () => void };
try {
  node.enableCompileCache?.();
} catch {
  // A start without the cache is only slower.
}

/**
 * Writes what was compiled so far to the cache now (once the service has started), not only when
 * the process exits normally: a service stopped by SIGKILL, or one that exits by another path,
 * still leaves the cache filled for the next start. Synchronous, and a failure is silent.
 */
export function keepCompiledCode(): void {
  node.flushCompileCache?.();
}
