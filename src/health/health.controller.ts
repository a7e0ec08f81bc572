import { Controller, Get, HttpCode, HttpException, HttpStatus } from '@nestjs/common';
import { Database } from '../database/database';

/**
 * Liveness (`/health/live`: the process answers) and readiness (`/health`: it can reach the
 * database). A load balancer should route by readiness; a supervisor restarts on liveness.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get()
  async ready(): Promise<{ status: string; database: string }> {
    try {
      await this.db.query('SELECT 1');
      return { status: 'ok', database: 'up' };
    } catch {
      throw new HttpException({ status: 'unavailable', database: 'down' }, HttpStatus.SERVICE_UNAVAILABLE);
    }
  }

  @Get('live')
  @HttpCode(200)
  live(): { status: string } {
    return { status: 'ok' };
  }
}
