import type { GqlClient } from '../scripts/lib/gql-client';

/** Whether the running service offers an operation (the bench measures what the build has). */
export async function hasOperation(client: GqlClient, type: 'Query' | 'Mutation', name: string): Promise<boolean> {
  const data = await client.ok(`{ __type(name: "${type}") { fields { name } } }`);
  return (data.__type?.fields ?? []).some((f: { name: string }) => f.name === name);
}

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  const index = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return Math.round((sortedMs[Math.max(0, index)] ?? 0) * 100) / 100;
}
