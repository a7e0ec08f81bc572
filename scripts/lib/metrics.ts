/**
 * The value of an unlabelled metric (a counter or gauge) on an instance's GET /metrics, read with
 * an ADMIN or AUDITOR key; undefined when the instance does not have it (a build before it).
 */
export async function metricValue(baseUrl: string, key: string, name: string): Promise<number | undefined> {
  const response = await fetch(new URL('/metrics', baseUrl), { headers: { authorization: `Bearer ${key}` } });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const line = (await response.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
