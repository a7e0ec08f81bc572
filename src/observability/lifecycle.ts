import { Injectable } from '@nestjs/common';

/**
 * Whether the instance is stopping, and how many HTTP requests it is still serving: readiness
 * turns 503 as soon as a stop begins (so load balancers send new work elsewhere), and the stop
 * waits for the requests in flight before the posting queue and the database close.
 */
@Injectable()
export class Lifecycle {
  private stoppingSince: number | null = null;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  get stopping(): boolean {
    return this.stoppingSince !== null;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  beginStop(): void {
    this.stoppingSince ??= Date.now();
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestEnded(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  }

  /** Resolves once no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
