import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { startCountingReceiver, type CountingReceiver } from '../../bench/webhooks';

/**
 * The bench's webhook receiver (bench/webhooks.ts) stands for a customer's HTTP server: it must
 * be a correct HTTP/1.1 responder for the bench to measure real deliveries. Framing by
 * Content-Length, keep-alive, pipelined requests split anywhere, and the refusals.
 */
describe('the bench webhook receiver', () => {
  let receiver: CountingReceiver;
  beforeEach(async () => {
    receiver = await startCountingReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('answers node:http POSTs 200 on one kept-alive connection and counts them', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(receiver.url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ id: i, data: 'x'.repeat(1000 * i) }));
      });
      expect(status).toBe(200);
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
    expect(receiver.received).toBe(3);
  });

  it('frames pipelined requests sent a byte at a time, answers each in order, and refuses a chunked one with 411', async () => {
    const port = Number(new URL(receiver.url).port);
    const socket = connect(port, '127.0.0.1');
    let answers = '';
    socket.on('data', (d: Buffer) => (answers += d.toString('latin1')));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // A body holding what looks like a request head must not be taken for one.
    const bodies = ['{"a":1}', 'POST / HTTP/1.1\r\n\r\n', '{}'];
    const text = bodies.map((b) => `POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`).join('');
    for (const byte of Buffer.from(text)) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.write('POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    await closed;
    const ok = 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n';
    expect(answers).toBe(`${ok}${ok}${ok}HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    expect(receiver.received).toBe(3);
  });

  it('closes after answering a request that asks for it, and refuses a malformed head with 400', async () => {
    const port = Number(new URL(receiver.url).port);
    const exchange = async (text: string) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.write(text);
      await closed;
      return answer;
    };
    expect(await exchange('POST /hook HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}')).toBe(
      'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    // HTTP/1.0 closes unless asked not to; field names in any case.
    expect(await exchange('POST /hook HTTP/1.0\r\nCONTENT-LENGTH: 2\r\n\r\n{}')).toBe(
      'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    expect(await exchange('NOT HTTP\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    expect(await exchange('POST /hook HTTP/1.1\r\nno colon here\r\n\r\n')).toBe(
      'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    expect(await exchange('POST /hook HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\n{}')).toBe(
      'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    // A head that has not ended within 16 KiB.
    expect(await exchange(`POST /hook HTTP/1.1\r\nx-long: ${'a'.repeat(17 * 1024)}`)).toBe(
      'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    expect(receiver.received).toBe(2);
  });
});
