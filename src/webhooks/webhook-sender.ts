import { Agent as HttpAgent, type AgentOptions, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { guardedLookup, parseTarget, publicAddresses } from './ssrf';

export interface SendOutcome {
  readonly statusCode: number | null;
  readonly error: string | null;
}

/** Of a receiver's answer only the status counts; its body is read (so the socket is reused) up to this much. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs one delivery. A 2xx within the timeout is delivered; redirects are not followed (a 3xx
 * is a failed attempt). Connections are kept alive per receiver; with private receivers refused,
 * every new connection resolves the host through `guardedLookup`, and an address literal is
 * checked before connecting.
 */
export class WebhookSender {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(
    private readonly timeoutMs: number,
    private readonly allowPrivate: boolean,
    maxSockets: number,
  ) {
    // The guard has the shape of dns.lookup's callback form, which is what net.connect calls.
    const lookup = allowPrivate ? undefined : (guardedLookup() as unknown as AgentOptions['lookup']);
    this.http = new HttpAgent({ keepAlive: true, maxSockets, lookup });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets, lookup });
  }

  async send(target: string, body: string, headers: Record<string, string>): Promise<SendOutcome> {
    try {
      const { url, host } = parseTarget(target);
      if (!this.allowPrivate) await publicAddresses(host);
      const statusCode = await this.post(url, body, headers);
      return { statusCode, error: statusCode >= 200 && statusCode < 300 ? null : `the receiver answered ${statusCode}` };
    } catch (error) {
      return { statusCode: null, error: (error as Error).message || String(error) };
    }
  }

  private post(url: URL, body: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(url, {
        method: 'POST',
        agent: url.protocol === 'https:' ? this.https : this.http,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      });
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      request.on('response', (response: IncomingMessage) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => {
          clearTimeout(timer);
          resolve(response.statusCode ?? 0);
        };
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      });
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
