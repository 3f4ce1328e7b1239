// In-process servers for the protocol clients' tests, on random ports of
// 127.0.0.1, closed at teardown: a ws echo server, a node:http2 server (TCP
// or TLS) answering "ok", and a gRPC server with one unary echo method
// (no protobuf: the bytes are the message). The same echo method is what
// test/fixtures/faults/heartbeat-server.js serves.
import * as grpc from '@grpc/grpc-js';
import { WebSocketServer } from 'ws';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import type * as net from 'node:net';

import type { Credentials } from './tls';

type Owner = { teardown(fn: () => unknown): void };

const identity = (b: Buffer): Buffer => b;
/** The echo service: one unary method, Buffer in and out. */
export const ECHO = {
  echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} satisfies grpc.ServiceDefinition;
export const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');
export type Echo = grpc.Client & { echo(request: Buffer, callback: (error: grpc.ServiceError | null, reply?: Buffer) => void): void };

/** A WebSocket server that sends every message back; its port. */
export async function startWsEcho(t: Owner): Promise<number> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  await once(server, 'listening');
  server.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  return (server.address() as net.AddressInfo).port;
}

/** A node:http2 server answering every stream with 200 "ok" (TLS with `credentials`); its port. */
export async function startHttp2(t: Owner, credentials?: Credentials): Promise<number> {
  const server = credentials ? http2.createSecureServer(credentials) : http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  t.teardown(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A gRPC server with the echo method; its port. */
export async function startGrpcEcho(t: Owner, options: grpc.ServerOptions = {}): Promise<number> {
  const server = new grpc.Server(options);
  server.addService(ECHO, { echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  t.teardown(() => server.forceShutdown());
  return port;
}
