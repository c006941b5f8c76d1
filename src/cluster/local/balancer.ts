import net from 'node:net';

/**
 * A round-robin TCP balancer for `npm run cluster`: each new connection goes to the next node that
 * accepts it, as HAProxy's `balance roundrobin` in mode tcp does in compose.yaml. MQTT needs nothing
 * more: any node serves any device.
 */
export interface Balancer {
  port: number;
  close(): Promise<void>;
}

export function startBalancer(targets: () => Array<{ host: string; port: number }>, port = 0, host = '127.0.0.1'): Promise<Balancer> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const list = targets();
    const tryTarget = (attempt: number) => {
      if (attempt >= list.length) return client.destroy();
      const target = list[next++ % list.length]!;
      const upstream = net.connect(target.port, target.host);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
      // A dead node: the next one gets the connection.
      upstream.once('error', () => {
        if (!connected) tryTarget(attempt + 1);
      });
    };
    tryTarget(0);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
