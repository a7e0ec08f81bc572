import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Connection, requestBytes } from '../../bench/load';

/**
 * The bench's load generator (bench/load.ts) is a minimal HTTP/1.1 client: it must frame every
 * answer the service may give exactly, or the bench counts wrong. Answers by Content-Length and
 * by chunks, split anywhere across reads, on one kept-alive connection; a connection the server
 * closes is opened again; a request on a dead connection fails instead of hanging.
 */
describe('the bench load client', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();
  /** What the server writes back for each request it reads, one byte at a time when `trickle`. */
  let answers: string[] = [];
  let trickle = false;
  let received: string[] = [];
  /** Connections the server accepted. */
  let accepted = 0;

  beforeEach(async () => {
    answers = [];
    received = [];
    trickle = false;
    accepted = 0;
    server = createServer((socket) => {
      sockets.add(socket);
      accepted++;
      socket.on('close', () => sockets.delete(socket));
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        received.push(buffered.slice(end + 4, end + 4 + length));
        buffered = buffered.slice(end + 4 + length);
        const answer = answers.shift() ?? '';
        if (!trickle) socket.write(answer);
        else {
          // In order, a byte per turn of the loop: each read the client gets holds a byte or a few.
          const next = (i: number) => {
            if (i >= answer.length || socket.destroyed) return;
            socket.write(answer[i] as string);
            setImmediate(() => next(i + 1));
          };
          next(0);
        }
        if (/connection: close/i.test(answer)) setTimeout(() => socket.end(), trickle ? 200 : 20);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = () => new URL(`http://127.0.0.1:${port}/graphql`);

  it('frames answers by Content-Length and by chunks on one connection, whole or a byte at a time', async () => {
    for (const slow of [false, true]) {
      trickle = slow;
      const connection = new Connection('127.0.0.1', port);
      answers = [
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"data":null}',
        'HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}',
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"err\r\n7\r\nors":1}\r\n0\r\n\r\n',
        'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      ];
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push(await connection.send(requestBytes(url(), 'k', JSON.stringify({ i }))));
      expect(replies).toEqual([
        { status: 200, body: '{"data":null}' },
        { status: 429, body: '{}' },
        { status: 200, body: '{"errors":1}' },
        { status: 200, body: '' },
      ]);
      // All four on the one connection this round opened.
      expect(accepted).toBe(slow ? 2 : 1);
      connection.close();
    }
    const four = ['{"i":0}', '{"i":1}', '{"i":2}', '{"i":3}'];
    expect(received).toEqual([...four, ...four]);
  });

  it('sends the request with its headers and body, and opens the connection again after the server closed it', async () => {
    const connection = new Connection('127.0.0.1', port);
    answers = ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes'];
    const bytes = requestBytes(url(), 'sl_key', '{"query":"{ me { role } }"}').toString('latin1');
    expect(bytes).toMatch(/^POST \/graphql HTTP\/1\.1\r\n/);
    expect(bytes).toContain('\r\nauthorization: Bearer sl_key\r\n');
    expect(bytes).toContain('\r\ncontent-length: 27\r\n');
    expect(await connection.send(requestBytes(url(), 'k', 'a'))).toEqual({ status: 200, body: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connection.send(requestBytes(url(), 'k', 'b'))).toEqual({ status: 200, body: 'yes' });
    expect(received).toEqual(['a', 'b']);
    connection.close();
  });

  it('fails a request whose connection dies before its answer, and one answered without framing or with a bad chunk, then goes on', async () => {
    const connection = new Connection('127.0.0.1', port);
    answers = ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nshort'];
    await expect(connection.send(requestBytes(url(), 'k', 'a'))).rejects.toThrow('closed the connection');
    answers = ['HTTP/1.1 200 OK\r\n\r\nno framing'];
    await expect(connection.send(requestBytes(url(), 'k', 'b'))).rejects.toThrow('neither Content-Length nor chunks');
    answers = ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'];
    await expect(connection.send(requestBytes(url(), 'k', 'c'))).rejects.toThrow('malformed chunk size');
    answers = ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'];
    expect(await connection.send(requestBytes(url(), 'k', 'd'))).toEqual({ status: 200, body: 'ok' });
    connection.close();
  });
});
