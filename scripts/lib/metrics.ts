/**
 * The value of an unlabelled metric (a counter or gauge) on an instance's GET /metrics, read with
 * an ADMIN or AUDITOR key; undefined when the instance does not have it (a build before it).
 */
export async function metricValue(baseUrl: string, key: string, name: string): Promise<number | undefined> {
  const response = await fetch(new URL('/metrics', baseUrl), { headers: { authorization: `Bearer ${key}` } });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return seriesValue(await response.text(), name);
}

/**
 * The value of one series in a /metrics text: a metric's name, with its labels as the text writes
 * them (`ledger_http_requests_total{operation="me",outcome="ok"}`); undefined when absent.
 */
export function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
