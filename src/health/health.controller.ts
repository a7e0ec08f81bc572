import { Controller, Get, HttpCode, HttpException, HttpStatus } from '@nestjs/common';
import { Database } from '../database/database';
import { Lifecycle } from '../observability/lifecycle';

/** A database that does not answer a trivial query this fast is reported down. */
const DATABASE_CHECK_TIMEOUT_MS = 2000;

/**
 * Liveness (`/health/live`: the process answers) and readiness (`/health`: it can reach the
 * database and is not stopping). A load balancer should route by readiness; a supervisor restarts
 * on liveness. While the database is down the instance stays alive and reports itself not ready;
 * its pool reconnects by itself once the database is back.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get()
  async ready(): Promise<{ status: string; database: string }> {
    if (this.lifecycle.stopping) {
      throw new HttpException({ status: 'stopping', database: 'unknown' }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), DATABASE_CHECK_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ok', database: 'up' };
    } catch {
      throw new HttpException({ status: 'unavailable', database: 'down' }, HttpStatus.SERVICE_UNAVAILABLE);
    } finally {
      clearTimeout(timer);
    }
  }

  @Get('live')
  @HttpCode(200)
  live(): { status: string } {
    return { status: 'ok' };
  }
}
