import type net from 'node:net';
import type { Socket } from 'node:net';

/** A listener a transport opened: its bound port (the real one when asked for 0) and how to stop it. */
export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** server.listen as a promise that rejects with the socket error (EADDRINUSE...), for one-line start errors. */
export function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Keeps the server's raw connections so that closing can end them. The MQTT core closes first and
 * ends its sessions gracefully; what is left then (handshakes in progress, idle keep-alive
 * requests) is cut, so a stop never waits on a silent client.
 */
export function trackConnections(server: net.Server): { closeAndCut(): Promise<void> } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    closeAndCut: () =>
      new Promise<void>((resolve) => {
        if (server.listening) server.close(() => resolve());
        else if (sockets.size === 0) resolve();
        else server.once('close', () => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
