/**
 * One side of the API server relay (see api-relay.ts), run as its own process:
 *
 *   unix-to-tcp SOCKET HOST:PORT   listens on the socket file, connects each stream to HOST:PORT (host side)
 *   tcp-to-unix HOST:PORT SOCKET   listens on HOST:PORT, connects each stream to the socket file (run inside
 *                                  a network namespace with `ip netns exec`)
 *
 * Bytes are piped unchanged (TLS passes through end to end). Prints `relay listening` once it accepts
 * connections, and exits when --parent-pid is gone, so a crashed test leaves no relay behind.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

type Endpoint = { readonly path: string } | { readonly host: string; readonly port: number };

function parseEndpoint(text: string, kind: 'unix' | 'tcp'): Endpoint {
  if (kind === 'unix') return { path: text };
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`${text} is not HOST:PORT`);
  }
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

function pipeBoth(accepted: Socket, target: Endpoint): void {
  // Half-open allowed both ways, so a client that ends its side still gets the rest of the answer.
  const upstream =
    'path' in target
      ? createConnection({ path: target.path, allowHalfOpen: true })
      : createConnection({ ...target, allowHalfOpen: true });
  accepted.setNoDelay(true);
  if (!('path' in target)) upstream.setNoDelay(true);
  // Either side failing or closing for good ends both: the client sees a reset, as without the relay.
  const end = (): void => {
    accepted.destroy();
    upstream.destroy();
  };
  accepted.on('error', end);
  upstream.on('error', end);
  accepted.on('close', end);
  upstream.on('close', end);
  accepted.pipe(upstream);
  upstream.pipe(accepted);
}

function main(argv: readonly string[]): void {
  const [mode, listenText, connectText, ...rest] = argv;
  const parentFlag = rest.find((arg) => arg.startsWith('--parent-pid='));
  const parentPid = parentFlag ? Number(parentFlag.slice('--parent-pid='.length)) : undefined;
  if ((mode !== 'unix-to-tcp' && mode !== 'tcp-to-unix') || !listenText || !connectText) {
    process.stderr.write('usage: relay-process unix-to-tcp|tcp-to-unix LISTEN CONNECT [--parent-pid=PID]\n');
    process.exit(2);
  }
  const listen = parseEndpoint(listenText, mode === 'unix-to-tcp' ? 'unix' : 'tcp');
  const target = parseEndpoint(connectText, mode === 'unix-to-tcp' ? 'tcp' : 'unix');
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => pipeBoth(socket, target));
  const stop = (): void => {
    server.close();
    if ('path' in listen) rmSync(listen.path, { force: true });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
  server.on('error', (error) => {
    process.stderr.write(`relay: ${error.message}\n`);
    process.exit(1);
  });
  if ('path' in listen) rmSync(listen.path, { force: true });
  const ready = (): void => {
    process.stdout.write('relay listening\n');
  };
  if ('path' in listen) server.listen(listen.path, ready);
  else server.listen(listen.port, listen.host, ready);
  if (parentPid !== undefined && Number.isInteger(parentPid)) {
    setInterval(() => {
      try {
        process.kill(parentPid, 0);
      } catch {
        stop();
      }
    }, 500).unref();
  }
}

main(process.argv.slice(2));
