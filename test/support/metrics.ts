import { metricValue } from '../../scripts/lib/metrics';
import type { RunningService } from './service';

export { seriesValue } from '../../scripts/lib/metrics';

/** An unlabelled metric of a running instance (read with its admin key); fails when the instance has none. */
export async function metricOf(service: Pick<RunningService, 'baseUrl' | 'adminKey'>, name: string): Promise<number> {
  const value = await metricValue(service.baseUrl, service.adminKey, name);
  if (value === undefined) throw new Error(`no ${name} in /metrics`);
  return value;
}
