import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { WebhookSender } from '../../src/webhooks/webhook-sender';
import { readRequests } from './receiver';

const TIMEOUT_MS = 1500;

/** What the raw receiver writes for the n-th request it reads (0-based, over all connections), and whether it then closes. */
type Answer = (n: number) => { bytes: string | Buffer | string[]; close?: boolean };

/**
 * A receiver written on node:net, to answer exactly as a test needs: each request is framed by its
 * head and Content-Length, and answered with the bytes `answer` gives (a list is written piece by
 * piece, each in its own write, to split an answer across reads).
 */
async function rawReceiver(answer: Answer): Promise<{ url: string; connections: number; requests: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { connections: 0, requests: 0 };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    state.connections++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    readRequests(socket, () => {
      const { bytes, close } = answer(state.requests++);
      for (const piece of Array.isArray(bytes) ? bytes : [bytes]) socket.write(piece);
      if (!close) return true;
      socket.end();
      return false;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The sender reads answers itself (webhook-sender.ts): every way HTTP/1.1 frames an answer, interim
 * answers, receivers that close connections, answers that are too long or not HTTP, and the SSRF
 * guard at connection.
 */
describe('webhook sender: reading answers', () => {
  let sender: WebhookSender;
  let receiver: Awaited<ReturnType<typeof rawReceiver>> | null = null;
  beforeEach(() => {
    sender = new WebhookSender(TIMEOUT_MS, true, 4, 32);
  });
  afterEach(async () => {
    sender.close();
    await receiver?.close();
    receiver = null;
  });

  const send = (url: string, i: number, pipelined = true) =>
    sender.send('webhook-1', url, Buffer.from(JSON.stringify({ id: i, text: 'é' })), ['content-type', 'application/json'], pipelined);

  it('reads a chunked answer with trailer fields split byte by byte, and reuses the connection', async () => {
    const answer = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n';
    receiver = await rawReceiver(() => ({ bytes: [...answer] }));
    expect(await send(receiver.url, 0)).toEqual({ statusCode: 200, error: null });
    expect(await send(receiver.url, 1)).toEqual({ statusCode: 200, error: null });
    expect(receiver.connections).toBe(1);
  });

  it('skips interim answers and takes the final one', async () => {
    receiver = await rawReceiver(() => ({ bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n' }));
    expect(await send(receiver.url, 0)).toEqual({ statusCode: 204, error: null });
  });

  it('counts a non-2xx answer as a failed attempt with its status', async () => {
    receiver = await rawReceiver(() => ({ bytes: 'HTTP/1.1 302 Found\r\nlocation: http://example.com/\r\ncontent-length: 0\r\n\r\n' }));
    expect(await send(receiver.url, 0)).toEqual({ statusCode: 302, error: 'the receiver answered 302' });
  });

  it('sends again, on new connections, pipelined requests left unanswered by a receiver that closes after each answer', async () => {
    receiver = await rawReceiver(() => ({ bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok', close: true }));
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => send((receiver as { url: string }).url, i)));
    expect(outcomes).toEqual([0, 1, 2, 3].map(() => ({ statusCode: 200, error: null })));
    expect(receiver.connections).toBe(4);
  });

  it('reads an answer framed by the end of its connection', async () => {
    receiver = await rawReceiver(() => ({ bytes: 'HTTP/1.1 202 Accepted\r\n\r\nqueued', close: true }));
    expect(await send(receiver.url, 0)).toEqual({ statusCode: 202, error: null });
    expect(await send(receiver.url, 1)).toEqual({ statusCode: 202, error: null });
    expect(receiver.connections).toBe(2);
  });

  it('takes the status of an answer longer than 64 KiB and drops its connection', async () => {
    const body = 'x'.repeat(70 * 1024);
    receiver = await rawReceiver(() => ({ bytes: `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}` }));
    expect(await send(receiver.url, 0)).toEqual({ statusCode: 200, error: null });
    expect(await send(receiver.url, 1)).toEqual({ statusCode: 200, error: null });
    expect(receiver.connections).toBe(2);
  });

  it('fails an answer that is not HTTP', async () => {
    receiver = await rawReceiver(() => ({ bytes: 'SMTP ready\r\n\r\n' }));
    const outcome = await send(receiver.url, 0);
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toMatch(/not HTTP/);
  });

  it('opens a new connection when the receiver closed an idle kept-alive one', async () => {
    receiver = await rawReceiver((n) => ({ bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', close: n === 0 }));
    expect(await send(receiver.url, 0)).toEqual({ statusCode: 200, error: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await send(receiver.url, 1)).toEqual({ statusCode: 200, error: null });
    expect(receiver.connections).toBe(2);
  });

  it('fails a refused connection with the reason', async () => {
    receiver = await rawReceiver(() => ({ bytes: '' }));
    const url = receiver.url;
    await receiver.close();
    receiver = null;
    const outcome = await send(url, 0, false);
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it('with private receivers refused, refuses a loopback address and a name resolving to one, without connecting', async () => {
    receiver = await rawReceiver(() => ({ bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n' }));
    const guarded = new WebhookSender(TIMEOUT_MS, false, 4, 32);
    try {
      const port = new URL(receiver.url).port;
      for (const url of [receiver.url, `http://localhost:${port}/hook`]) {
        const outcome = await guarded.send('webhook-2', url, Buffer.from('{}'), [], true);
        expect(outcome.statusCode).toBeNull();
        expect(outcome.error).toMatch(/loopback, private or link-local/);
      }
      expect(receiver.connections).toBe(0);
    } finally {
      guarded.close();
    }
  });
});
