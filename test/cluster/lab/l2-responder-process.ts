/** Drives test/cluster/lab/l2-responder-main.ts inside a namespace through its JSON-lines protocol. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { L2Claim, L2ClaimState } from '../../../src/speaker/l2/announcer.js';

const mainScript = fileURLToPath(new URL('./l2-responder-main.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

type Message = { event: string; ip?: string; state?: L2ClaimState; text?: string; message?: string };

export class ResponderProcess {
  readonly states: Array<{ ip: string; state: L2ClaimState; at: number }> = [];
  readonly stderr: string[] = [];
  private readonly waiters: Array<{ test: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private exited = false;

  constructor(readonly namespace: string) {
    this.child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '--import', 'tsx', mainScript], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.on('exit', () => {
      this.exited = true;
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        return;
      }
      if (message.event === 'state' && message.ip && message.state) {
        this.states.push({ ip: message.ip, state: message.state, at: Date.now() });
      }
      for (const waiter of [...this.waiters]) {
        if (!waiter.test(message)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => this.stderr.push(line));
  }

  private next(test: (m: Message) => boolean, timeoutMs: number, what: string): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.namespace}: no ${what} within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-20).join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async ready(): Promise<void> {
    await this.next((m) => m.event === 'ready', 30_000, 'ready line');
  }

  async reconcile(claims: L2Claim[]): Promise<void> {
    const done = this.next((m) => m.event === 'reconciled', 10_000, 'reconcile acknowledgement');
    this.child.stdin.write(`${JSON.stringify({ claims })}\n`);
    await done;
  }

  /** Resolves with the first state of `ip` (already seen or coming) that satisfies `test`. */
  async waitForState(
    ip: string,
    test: (s: L2ClaimState) => boolean,
    timeoutMs = 10_000,
  ): Promise<L2ClaimState> {
    const seen = this.states.find((s) => s.ip === ip && test(s.state));
    if (seen) return seen.state;
    const message = await this.next(
      (m) => m.event === 'state' && m.ip === ip && !!m.state && test(m.state),
      timeoutMs,
      `state of ${ip}`,
    );
    return message.state as L2ClaimState;
  }

  async metrics(): Promise<string> {
    const reply = this.next((m) => m.event === 'metrics', 10_000, 'metrics');
    this.child.stdin.write(`${JSON.stringify({ metrics: true })}\n`);
    return (await reply).text ?? '';
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The value of `name{ip="..."}` in Prometheus text, 0 when the series is absent. */
export function counterValue(metricsText: string, name: string, ip: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${name}{ip="${ip}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
