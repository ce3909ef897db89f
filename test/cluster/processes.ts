/**
 * Child processes of the local control plane: started with their output in a log file, waited for until a
 * probe says they are ready (or they die, which is reported with the end of their log), and stopped with
 * SIGTERM, then SIGKILL if they linger.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';

export class ManagedProcess {
  private exited = false;
  private exitDescription = '';
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.exitDescription = signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
        resolve();
      });
    });
  }

  static start(
    name: string,
    command: string,
    args: readonly string[],
    logFile: string,
    env?: NodeJS.ProcessEnv,
  ): ManagedProcess {
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
      child.on('error', () => {
        // surfaced through 'exit' and the log; an unhandled 'error' would crash the launcher
      });
      return new ManagedProcess(name, logFile, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Polls `probe` until it resolves true; fails early with the log's tail if the process dies. */
  async waitUntilReady(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (this.exited)
        throw new Error(`${this.name} ${this.exitDescription} during start-up:\n${this.logTail()}`);
      try {
        if (await probe()) return;
      } catch (error) {
        lastError = (error as Error).message;
      }
      await sleep(200);
    }
    throw new Error(
      `${this.name} not ready after ${timeoutMs} ms (${lastError || 'probe never passed'}):\n${this.logTail()}`,
    );
  }

  logTail(lines = 25): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timedOut = await Promise.race([
      this.exitPromise.then(() => false),
      sleep(graceMs).then(() => true),
    ]);
    if (timedOut && !this.exited) {
      this.child.kill('SIGKILL');
      await this.exitPromise;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A TCP port nobody listens on right now, on the given address. It is drawn below the kernel's ephemeral range:
 * a port from that range can be taken as the local end of any outgoing connection between the moment it is
 * chosen and the moment a child process binds it, which made kube-apiserver fail with "address in use".
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low, high] = portsBelowEphemeralRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canListen(host, port)) return port;
  }
  throw new Error(`no free TCP port on ${host} between ${low} and ${high}`);
}

function portsBelowEphemeralRange(): [number, number] {
  try {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (ephemeralLow && ephemeralLow > 12_000) return [10_000, ephemeralLow - 1];
  } catch {
    // not Linux: fall through to a range that is below the usual ephemeral ranges
  }
  return [10_000, 32_767];
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
