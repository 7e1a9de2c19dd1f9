/**
 * A TCP forwarder from an address of this machine to another. The worker hosts (./hosts) reach the
 * Temporal dev server through one: the server listens on 127.0.0.1, and a network namespace's
 * 127.0.0.1 is its own loopback, so the hosts cannot reach it there.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpForwarder {
  /** `host:port` where it listens. */
  address: string;
  /** Stops listening and drops every forwarded connection. */
  close(): Promise<void>;
}

/** Listens on `listenHost` (a free port) and pipes each connection to `target` (`host:port`). */
export async function startTcpForwarder(listenHost: string, target: string): Promise<TcpForwarder> {
  const at = target.lastIndexOf(':');
  const targetHost = target.slice(0, at);
  const targetPort = Number(target.slice(at + 1));
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.setNoDelay(true); // gRPC: no Nagle delay on each round trip
    socket.once('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    track(client);
    track(upstream);
    // Either side's error or end ends both: the other side sees a dropped connection.
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('error', drop).once('close', drop);
    upstream.once('error', drop).once('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    address: `${listenHost}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
