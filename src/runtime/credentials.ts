/**
 * Cluster credentials from kubeconfig files or a pod's service account, without @kubernetes/client-node's
 * KubeConfig: importing that class loads the whole client (every API group's models), about 70 MiB of a
 * component's memory for a few fields and a TLS setup. The common cases are read here: client certificates,
 * bearer tokens (inline or from a file, re-read so rotated tokens are picked up), basic auth, a CA, insecure
 * skip-verify and a TLS server name. Exec plugins, auth providers and proxies are left to client-node,
 * imported only when a kubeconfig uses one of them.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/** What RawClient needs from credentials; client-node's KubeConfig has the same shape. */
export interface Credentials {
  getCurrentCluster(): ClusterInfo | null;
  getCurrentContext(): string;
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

export interface ClusterInfo {
  readonly name: string;
  readonly server: string;
  readonly skipTLSVerify: boolean;
  readonly proxyUrl?: string;
}

interface Named<T> {
  readonly name: string;
  readonly value: T;
  /** The directory of the file it came from: relative paths in it are relative to that. */
  readonly base: string;
}

interface ClusterEntry {
  readonly server?: string;
  readonly 'certificate-authority'?: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'tls-server-name'?: string;
  readonly 'proxy-url'?: string;
}

interface UserEntry {
  readonly 'client-certificate'?: string;
  readonly 'client-certificate-data'?: string;
  readonly 'client-key'?: string;
  readonly 'client-key-data'?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly exec?: unknown;
  readonly 'auth-provider'?: unknown;
  /** Impersonation (kubectl's --as, --as-group, --as-uid). */
  readonly as?: string;
  readonly 'as-groups'?: readonly string[];
  readonly 'as-uid'?: string;
  readonly 'as-user-extra'?: Readonly<Record<string, readonly string[]>>;
}

interface ContextEntry {
  readonly cluster?: string;
  readonly user?: string;
}

interface KubeconfigDocument {
  readonly 'current-context'?: string;
  readonly clusters?: readonly { name?: string; cluster?: ClusterEntry }[];
  readonly users?: readonly { name?: string; user?: UserEntry }[];
  readonly contexts?: readonly { name?: string; context?: ContextEntry }[];
}

/** A token file is read again at most this often, so a rotated token is used within a minute. */
const tokenRefreshMs = 60_000;

class TokenFile {
  private token = '';
  private readAt = -Infinity;
  private modifiedAt = -1;

  constructor(private readonly path: string) {}

  current(): string {
    const now = Date.now();
    if (now - this.readAt < tokenRefreshMs) return this.token;
    this.readAt = now;
    const modified = statSync(this.path).mtimeMs;
    if (modified !== this.modifiedAt) {
      this.token = readFileSync(this.path, 'utf8').trim();
      this.modifiedAt = modified;
    }
    return this.token;
  }
}

function pathIn(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}

function fileOrData(base: string, path: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  return path ? readFileSync(pathIn(base, path)) : undefined;
}

/** Credentials this module serves itself. */
export class StaticCredentials implements Credentials {
  private readonly ca: Buffer | undefined;
  private readonly cert: Buffer | undefined;
  private readonly key: Buffer | undefined;
  private readonly token: (() => string) | undefined;
  private readonly basic: string | undefined;
  private readonly impersonation: Readonly<Record<string, string | string[]>>;

  constructor(
    private readonly context: string,
    private readonly cluster: ClusterInfo,
    private readonly tls: { readonly ca?: Buffer; readonly serverName?: string },
    user: {
      readonly cert?: Buffer;
      readonly key?: Buffer;
      readonly token?: () => string;
      readonly basic?: string;
      readonly impersonation?: Readonly<Record<string, string | string[]>>;
    },
  ) {
    this.impersonation = user.impersonation ?? {};
    this.ca = tls.ca;
    this.cert = user.cert;
    this.key = user.key;
    this.token = user.token;
    this.basic = user.basic;
  }

  getCurrentCluster(): ClusterInfo {
    return this.cluster;
  }

  getCurrentContext(): string {
    return this.context;
  }

  async applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    if (this.ca) options.ca = this.ca;
    if (this.cert) options.cert = this.cert;
    if (this.key) options.key = this.key;
    if (this.cluster.skipTLSVerify) options.rejectUnauthorized = false;
    if (this.tls.serverName) options.servername = this.tls.serverName;
    const token = this.token?.();
    const authorization = token ? `Bearer ${token}` : this.basic ? `Basic ${this.basic}` : undefined;
    options.headers = {
      ...options.headers,
      ...(authorization ? { Authorization: authorization } : {}),
      ...this.impersonation,
    };
  }
}

/**
 * Users of exec plugins or auth providers, and proxied clusters: the cluster fields come from the files (so
 * getCurrentCluster stays synchronous), the rest from client-node, loaded on the first request.
 */
class DelegatedCredentials implements Credentials {
  private delegate: Promise<Credentials> | undefined;

  constructor(
    private readonly context: string,
    private readonly cluster: ClusterInfo,
    private readonly paths: readonly string[],
  ) {}

  getCurrentCluster(): ClusterInfo {
    return this.cluster;
  }

  getCurrentContext(): string {
    return this.context;
  }

  async applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    this.delegate ??= (async () => {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const merged = new KubeConfig();
      for (const [index, path] of this.paths.entries()) {
        if (index === 0) {
          merged.loadFromFile(path);
        } else {
          const next = new KubeConfig();
          next.loadFromFile(path);
          merged.mergeConfig(next, true);
        }
      }
      return merged;
    })();
    await (await this.delegate).applyToHTTPSOptions(options);
  }
}

/**
 * Reads and merges kubeconfig files as kubectl does: the first file to name a cluster, user or context
 * wins, and the first current-context set wins.
 */
export function credentialsFromFiles(paths: readonly string[]): Credentials {
  const clusters = new Map<string, Named<ClusterEntry>>();
  const users = new Map<string, Named<UserEntry>>();
  const contexts = new Map<string, ContextEntry>();
  let currentContext = '';
  for (const path of paths) {
    const document = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigDocument;
    if (typeof document !== 'object') throw new Error('not a kubeconfig (expected a YAML mapping)');
    const base = dirname(path);
    for (const entry of document.clusters ?? []) {
      if (entry?.name && !clusters.has(entry.name)) {
        clusters.set(entry.name, { name: entry.name, value: entry.cluster ?? {}, base });
      }
    }
    for (const entry of document.users ?? []) {
      if (entry?.name && !users.has(entry.name))
        users.set(entry.name, { name: entry.name, value: entry.user ?? {}, base });
    }
    for (const entry of document.contexts ?? []) {
      if (entry?.name && !contexts.has(entry.name)) contexts.set(entry.name, entry.context ?? {});
    }
    currentContext ||= document['current-context'] ?? '';
  }
  const context = contexts.get(currentContext);
  const cluster = context?.cluster ? clusters.get(context.cluster) : undefined;
  if (!cluster?.value.server) {
    throw new Error(
      `no usable current context: current-context "${currentContext}" must name a context whose cluster is defined with a server`,
    );
  }
  const info: ClusterInfo = {
    name: cluster.name,
    server: cluster.value.server,
    skipTLSVerify: cluster.value['insecure-skip-tls-verify'] === true,
    ...(cluster.value['proxy-url'] ? { proxyUrl: cluster.value['proxy-url'] } : {}),
  };
  const user = context?.user ? users.get(context.user) : undefined;
  const userEntry = user?.value ?? {};
  if (userEntry.exec || userEntry['auth-provider'] || info.proxyUrl) {
    return new DelegatedCredentials(currentContext, info, paths);
  }
  const userBase = user?.base ?? cluster.base;
  const tokenFile = userEntry.tokenFile ? new TokenFile(pathIn(userBase, userEntry.tokenFile)) : undefined;
  const ca = fileOrData(
    cluster.base,
    cluster.value['certificate-authority'],
    cluster.value['certificate-authority-data'],
  );
  const cert = fileOrData(userBase, userEntry['client-certificate'], userEntry['client-certificate-data']);
  const key = fileOrData(userBase, userEntry['client-key'], userEntry['client-key-data']);
  const token = userEntry.token;
  const impersonation = impersonationHeaders(userEntry);
  return new StaticCredentials(
    currentContext,
    info,
    {
      ...(ca ? { ca } : {}),
      ...(cluster.value['tls-server-name'] ? { serverName: cluster.value['tls-server-name'] } : {}),
    },
    {
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(token ? { token: () => token } : tokenFile ? { token: () => tokenFile.current() } : {}),
      ...(userEntry.username !== undefined && userEntry.password !== undefined
        ? { basic: Buffer.from(`${userEntry.username}:${userEntry.password}`).toString('base64') }
        : {}),
      impersonation,
    },
  );
}

/** The Impersonate-* headers a user entry asks for (none without `as`). */
function impersonationHeaders(user: UserEntry): Record<string, string | string[]> {
  if (!user.as) return {};
  const headers: Record<string, string | string[]> = { 'Impersonate-User': user.as };
  if (user['as-groups']?.length) headers['Impersonate-Group'] = [...user['as-groups']];
  if (user['as-uid']) headers['Impersonate-Uid'] = user['as-uid'];
  for (const [key, values] of Object.entries(user['as-user-extra'] ?? {})) {
    headers[`Impersonate-Extra-${encodeURIComponent(key)}`] = [...values];
  }
  return headers;
}

/** A pod's service account: the API server's Service address, its CA, and the (rotated) token file. */
export function inClusterCredentials(host: string, port: string, prefix = ''): Credentials {
  const directory = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`;
  const tokenFile = new TokenFile(join(directory, 'token'));
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const caFile = join(directory, 'ca.crt');
  return new StaticCredentials(
    'inClusterContext',
    { name: 'inCluster', server, skipTLSVerify: false },
    existsSync(caFile) ? { ca: readFileSync(caFile) } : {},
    { token: () => tokenFile.current() },
  );
}
