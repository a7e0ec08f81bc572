import { Agent, request } from 'node:http';
import type { GqlClient, GqlResponse } from '../scripts/lib/gql-client';

/**
 * The client the read benches time requests with: one keep-alive connection of `node:http`, the
 * body written as one string and the answer read as one. A read's latency is measured in this
 * process, so the client's own work (and its own garbage collections) is inside every sample;
 * Node's `fetch` (undici: WHATWG streams, Headers and Response objects per request) cost several
 * times this client's CPU and allocations per request, and its collections landed on samples the
 * service had answered quickly. Same requests, same answers as GqlClient.
 */
export class ReadClient implements Pick<GqlClient, 'request'> {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly target: URL;
  private readonly headers: Record<string, string>;

  constructor(url: string, key: string | undefined) {
    this.target = new URL(url);
    this.headers = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  }

  request<T = unknown>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse<T>> {
    const body = JSON.stringify({ query, variables });
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: 'POST',
          headers: { ...this.headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            try {
              const parsed = JSON.parse(text) as { data?: T; errors?: GqlResponse['errors'] };
              resolve({ status: res.statusCode ?? 0, data: parsed.data ?? undefined, errors: parsed.errors });
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept-alive connection. */
  close(): void {
    this.agent.destroy();
  }
}
