import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** A server's WebSocket close frame: FIN + close opcode, a 2-byte payload, status 1001 (going away). */
const GOING_AWAY_FRAME = Buffer.from([0x88, 0x02, 0x03, 0xe9]);
/** A client that does not close its side by then is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * Subscriptions never end by themselves, and the HTTP server does not finish closing while a
 * WebSocket is open. This tracks upgraded sockets so that a graceful stop can close them with
 * 1001 (going away); clients then reconnect, to another instance behind a load balancer.
 */
export function trackWebSockets(server: Server): { closeAll(): void } {
  const sockets = new Set<Duplex>();
  server.on('upgrade', (_request, socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    closeAll() {
      for (const socket of sockets) {
        socket.end(GOING_AWAY_FRAME);
        setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      }
    },
  };
}
