export { type RunningService, startService } from '../../scripts/lib/service-process';
