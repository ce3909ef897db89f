/**
 * A layer-2 LAN in network namespaces, for the announcer's wire tests. No router and no control plane:
 *
 *   <prefix>-a      eth0 198.51.100.11/24 2001:db8::11/64 ┐
 *   <prefix>-b      eth0 198.51.100.12/24 2001:db8::12/64 ┼── br0 in <prefix>-lan
 *   <prefix>-client eth0 198.51.100.20/24 2001:db8::20/64 ┘
 *
 * The prefix carries this process's pid and a counter. Cleanup: destroy() (afterAll), a process 'exit' hook,
 * and a detached watchdog that deletes the namespaces when this process is gone, however it died.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LabHost {
  readonly namespace: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** Filled in by build(). */
  mac: string;
}

let counter = 0;

export class L2Lab {
  readonly lan: string;
  readonly a: LabHost;
  readonly b: LabHost;
  readonly client: LabHost;
  private destroyed = false;
  private readonly exitHook = (): void => this.destroySync();

  private constructor(readonly prefix: string) {
    this.lan = `${prefix}-lan`;
    this.a = { namespace: `${prefix}-a`, ipv4: '198.51.100.11', ipv6: '2001:db8::11', mac: '' };
    this.b = { namespace: `${prefix}-b`, ipv4: '198.51.100.12', ipv6: '2001:db8::12', mac: '' };
    this.client = { namespace: `${prefix}-client`, ipv4: '198.51.100.20', ipv6: '2001:db8::20', mac: '' };
  }

  static async create(): Promise<L2Lab> {
    let prefix: string;
    do {
      counter += 1;
      prefix = `mll2-${process.pid}-${counter}`;
    } while (existsSync(`/run/netns/${prefix}-lan`));
    const lab = new L2Lab(prefix);
    process.on('exit', lab.exitHook);
    lab.startWatchdog();
    try {
      await lab.build();
      return lab;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  get namespaces(): string[] {
    return [this.lan, this.a.namespace, this.b.namespace, this.client.namespace];
  }

  get hosts(): LabHost[] {
    return [this.a, this.b, this.client];
  }

  private async build(): Promise<void> {
    for (const ns of this.namespaces) {
      await run('ip', ['netns', 'add', ns]);
      await ip(ns, 'link', 'set', 'lo', 'up');
    }
    await ip(this.lan, 'link', 'add', 'br0', 'type', 'bridge');
    await ip(this.lan, 'link', 'set', 'br0', 'up');
    let port = 0;
    for (const host of this.hosts) {
      const lanPort = `p${port++}`;
      // Created inside the LAN namespace, so no name is ever taken in the host's namespace.
      await ip(
        this.lan,
        'link',
        'add',
        lanPort,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        host.namespace,
      );
      await ip(this.lan, 'link', 'set', lanPort, 'master', 'br0');
      await ip(this.lan, 'link', 'set', lanPort, 'up');
      await ip(host.namespace, 'addr', 'add', `${host.ipv4}/24`, 'dev', 'eth0');
      await ip(host.namespace, 'addr', 'add', `${host.ipv6}/64`, 'dev', 'eth0', 'nodad');
      await ip(host.namespace, 'link', 'set', 'eth0', 'up');
      host.mac =
        (await ip(host.namespace, 'link', 'show', 'eth0')).match(/link\/ether ([0-9a-f:]{17})/)?.[1] ?? '';
    }
  }

  private startWatchdog(): void {
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${this.namespaces
      .map((ns) => `ip netns del ${ns} 2>/dev/null;`)
      .join(' ')}`;
    const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    watchdog.unref();
  }

  async destroy(): Promise<void> {
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.exitHook);
    for (const ns of this.namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not created, or already gone
      }
    }
  }
}

export async function ip(namespace: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['-n', namespace, ...args]);
  return stdout;
}

/** Runs a command inside a namespace; resolves with its output and exit code, never rejects on exit code. */
export async function inNamespace(
  namespace: string,
  command: string[],
  timeoutMs = 15_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('ip', ['netns', 'exec', namespace, ...command], {
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}
