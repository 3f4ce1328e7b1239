// A connected loopback TCP pair for the in-process comparisons.
import { once } from 'node:events';
import * as net from 'node:net';

export interface LoopbackPair {
  client: net.Socket;
  server: net.Socket;
  close(): Promise<void>;
}

export async function loopbackPair(): Promise<LoopbackPair> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [server] = await accepted;
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
