/**
 * Running FRR's own tools: vtysh (through the daemons' unix sockets, optionally under a pathspace: the
 * `-N NAME` an FRR instance was started with) and frr-reload.py. Nothing here talks to the network, so a
 * speaker in the host's namespace can drive an FRR that runs in a node's network namespace.
 *
 * FRR's output can contain configuration lines, and so BGP passwords: everything that leaves this module
 * as text for logs or events goes through redactFrrText first.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ToolResult {
  /** The exit code; null when the process was killed (timeout) or could not start. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why the process could not run or was killed, if it did not just exit. */
  readonly failure?: string;
}

/** Runs a program to completion; never rejects. */
export type RunTool = (
  file: string,
  args: readonly string[],
  options: { readonly timeoutMs: number },
) => Promise<ToolResult>;

const maxOutputBytes = 64 * 1024 * 1024;

export const runTool: RunTool = (file, args, options) =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs, maxBuffer: maxOutputBytes, encoding: 'utf8', killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const exitCode = typeof error.code === 'number' ? error.code : null;
        const failure =
          exitCode === null
            ? error.killed
              ? `${file} was killed after ${options.timeoutMs} ms`
              : `${file} could not run: ${error.message}`
            : undefined;
        resolve({
          code: exitCode,
          stdout: stdout ?? '',
          stderr: stderr ?? '',
          ...(failure ? { failure } : {}),
        });
      },
    );
  });

/** Hides BGP passwords in FRR text (configuration lines, reload logs) before it reaches logs or events. */
export function redactFrrText(text: string): string {
  return text.replace(/(\bpassword\s+)\S+/gi, '$1[REDACTED]');
}

/** frr-reload.py colours its log levels when it writes to stdout. */
function withoutColours(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** The last `maxChars` characters of tool output, redacted and without colour codes, for error messages. */
export function outputTail(result: ToolResult, maxChars = 2000): string {
  const text = redactFrrText(
    withoutColours([result.failure, result.stderr.trim(), result.stdout.trim()].filter(Boolean).join('\n')),
  );
  return text.length > maxChars ? `…${text.slice(text.length - maxChars)}` : text;
}

/** The vtysh on PATH, or FRR's usual place. */
export function findVtysh(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'vtysh');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return '/usr/bin/vtysh';
}

export interface VtyshOptions {
  readonly binary: string;
  /** The FRR instance's pathspace (its daemons' -N); undefined for the default instance. */
  readonly pathspace?: string;
  readonly timeoutMs?: number;
  readonly run?: RunTool;
}

export class VtyshError extends Error {
  constructor(
    message: string,
    readonly result: ToolResult,
  ) {
    super(message);
    this.name = 'VtyshError';
  }
}

/** `vtysh [-N pathspace] -c COMMAND`: one show command at a time, its output as text or parsed JSON. */
export class Vtysh {
  private readonly run: RunTool;

  constructor(private readonly options: VtyshOptions) {
    this.run = options.run ?? runTool;
  }

  get pathspace(): string | undefined {
    return this.options.pathspace;
  }

  /** The output of one command; rejects with VtyshError when vtysh fails (daemons down, bad command). */
  async show(command: string, timeoutMs?: number): Promise<string> {
    const args = [...(this.options.pathspace ? ['-N', this.options.pathspace] : []), '-c', command];
    const result = await this.run(this.options.binary, args, {
      timeoutMs: timeoutMs ?? this.options.timeoutMs ?? 10_000,
    });
    // vtysh exits 0 even when a daemon the command needs is down, and then prints "<daemon> is not running".
    if (result.code !== 0 || /^\S+ is not running$/m.test(result.stdout)) {
      throw new VtyshError(`vtysh -c "${command}" failed: ${outputTail(result, 500)}`, result);
    }
    return result.stdout;
  }

  /** `vtysh [-N pathspace] -f FILE`: runs every configuration line of FILE in the daemons that take it. */
  execFile(file: string, timeoutMs = 120_000): Promise<ToolResult> {
    const args = [...(this.options.pathspace ? ['-N', this.options.pathspace] : []), '-f', file];
    return this.run(this.options.binary, args, { timeoutMs });
  }

  async showJson(command: string): Promise<unknown> {
    const text = await this.show(command);
    try {
      return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    } catch (error) {
      throw new Error(`vtysh -c "${command}" printed no JSON: ${(error as Error).message}`, { cause: error });
    }
  }
}
