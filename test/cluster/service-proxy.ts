/**
 * Lets the API server reach webhooks that sit behind in-cluster Services although no pod really runs: the API
 * server's "cluster" egress (webhook and conversion calls to a Service's cluster IP) goes through this HTTP
 * CONNECT proxy on a Unix socket, which forwards the destinations a test registers to a process on loopback
 * and refuses every other one. TLS stays end to end, so the caller still checks the Service's DNS name against
 * the certificate whoever manages the webhook (OLM, cert-manager) issued. A proxy in another process (the
 * supervisor of `make demo`) takes its routes from a file that whoever runs the webhook writes (addRoute).
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export class ServiceProxy {
  private readonly routes = new Map<string, { host: string; port: number }>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly socketPath: string,
    private readonly server: Server,
    private readonly routesFile: string | undefined,
  ) {}

  /** `routesFile`: where routes added from other processes are looked up (see addRoute), if anywhere. */
  static async start(socketPath: string, routesFile?: string): Promise<ServiceProxy> {
    rmSync(socketPath, { force: true });
    const server = createServer((_request, response) => response.writeHead(405).end());
    const proxy = new ServiceProxy(socketPath, server, routesFile);
    server.on('connect', (request, client: Socket, head: Buffer) =>
      proxy.tunnel(request.url ?? '', client, head),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return proxy;
  }

  /** Sends connections for `destination` ("10.96.3.4:443") to host:port. */
  route(destination: string, target: { host: string; port: number }): void {
    this.routes.set(destination, target);
  }

  /** The kube-apiserver --egress-selector-config-file content that sends cluster traffic here. */
  writeEgressSelectorConfig(path: string): void {
    writeFileSync(
      path,
      stringify({
        apiVersion: 'apiserver.k8s.io/v1beta1',
        kind: 'EgressSelectorConfiguration',
        egressSelections: [
          {
            name: 'cluster',
            connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: this.socketPath } } },
          },
        ],
      }),
    );
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }

  private tunnel(destination: string, client: Socket, head: Buffer): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const target = this.routes.get(destination) ?? readRoutes(this.routesFile)[destination];
    if (!target) {
      client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\nno route to ${destination}\r\n`);
      return;
    }
    const upstream = connect(target.port, target.host, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.sockets.add(upstream);
    upstream.once('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.once('close', () => upstream.destroy());
  }
}

type Routes = Record<string, { host: string; port: number } | undefined>;

function readRoutes(routesFile: string | undefined): Routes {
  if (!routesFile) return {};
  try {
    return JSON.parse(readFileSync(routesFile, 'utf8')) as Routes;
  } catch {
    return {};
  }
}

/** Adds a route to the routes file of a proxy running in another process (ServiceProxy.start's routesFile). */
export function addRoute(
  routesFile: string,
  destination: string,
  target: { host: string; port: number },
): void {
  writeFileSync(routesFile, JSON.stringify({ ...readRoutes(routesFile), [destination]: target }, null, 2));
}
