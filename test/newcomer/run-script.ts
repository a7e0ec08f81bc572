import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ScriptRun {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs a built script (`dist/...`) as its own process, as `npm run ...` would, and collects its
 * output. `stopWhen` ends it early (SIGKILL, like a power cut) once the output matches.
 */
export function runScript(
  script: string,
  env: Record<string, string | undefined>,
  options: { args?: string[]; stopWhen?: RegExp; timeoutMs?: number } = {},
): Promise<ScriptRun> {
  const child = spawn(process.execPath, [join(ROOT, script), ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (options.stopWhen?.test(output) && child.exitCode === null) child.kill('SIGKILL');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish in time:\n${output}`));
    }, options.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
