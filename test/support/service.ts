export { type RunningService, startService } from '../../scripts/lib/service-process';

/** The JSON log lines in a service's output (its start-up banner, plain text, is skipped). */
export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
