import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFrr, ReloaderFrr } from './frr-control.js';
import { Vtysh, redactFrrText, type RunTool, type ToolResult } from './frr-tools.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'frr-control-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Call {
  readonly file: string;
  readonly args: readonly string[];
}

function recordingRun(answer: (call: Call) => ToolResult): { run: RunTool; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    run: async (file, args) => {
      const call = { file, args: [...args] };
      calls.push(call);
      return answer(call);
    },
  };
}

describe('LocalFrr', () => {
  function local(run: RunTool, pathspace = 'node-1') {
    return new LocalFrr({
      vtysh: new Vtysh({ binary: '/usr/bin/vtysh', pathspace, run }),
      vtyshDir: '/usr/bin',
      reloadScript: '/usr/lib/frr/frr-reload.py',
      confDir: dir,
      scratchDir: join(dir, 'scratch'),
      run,
    });
  }

  it("runs frr-reload.py against the instance's pathspace, saving the result when its folder exists", async () => {
    mkdirSync(join(dir, 'node-1'));
    const { run, calls } = recordingRun(() => ({ code: 0, stdout: '', stderr: '' }));
    expect(await local(run).apply('/tmp/desired.conf')).toEqual({ ok: true });
    expect(calls).toEqual([
      {
        file: 'python3',
        args: [
          '/usr/lib/frr/frr-reload.py',
          '--reload',
          '--overwrite',
          '--stdout',
          '--log-level',
          'warning',
          '--pathspace',
          'node-1',
          '--confdir',
          dir,
          '--rundir',
          join(dir, 'scratch'),
          '--bindir',
          '/usr/bin',
          '/tmp/desired.conf',
        ],
      },
    ]);
  });

  it('does not ask frr-reload.py to save into a configuration folder that does not exist', async () => {
    const { run, calls } = recordingRun(() => ({ code: 0, stdout: '', stderr: '' }));
    await local(run, 'elsewhere').apply('/tmp/desired.conf');
    expect(calls[0]?.args).not.toContain('--overwrite');
  });

  it("reports frr-reload.py's complaint with passwords hidden", async () => {
    const { run } = recordingRun(() => ({
      code: 1,
      stdout: '',
      stderr:
        '\u001b[91mWARNING\u001b[0m: Failed to execute router bgp 64512 neighbor 192.0.2.1 password s3cret-pw\n% Unknown command',
    }));
    const outcome = await local(run).apply('/tmp/desired.conf');
    expect(outcome.ok).toBe(false);
    const error = outcome.ok ? '' : outcome.error;
    expect(error).toContain('frr-reload.py exited with 1');
    expect(error).toContain('% Unknown command');
    expect(error).toContain('password [REDACTED]');
    expect(error).not.toContain('s3cret-pw');
    expect(error).toContain('WARNING: Failed to execute');
  });

  it('probes daemons and a fingerprint of the running configuration through vtysh -N', async () => {
    const { run, calls } = recordingRun(({ args }) => {
      const command = args[args.length - 1];
      if (command === 'show daemons') return { code: 0, stdout: ' zebra bgpd bfdd\n', stderr: '' };
      return { code: 0, stdout: 'Building configuration...\n!\nrouter bgp 64512\nend\n', stderr: '' };
    });
    const probe = await local(run).probe();
    expect(probe).toMatchObject({ reachable: true, daemons: ['zebra', 'bgpd', 'bfdd'] });
    expect(probe.runningConfig).toMatch(/^[0-9a-f]{64}$/);
    expect(calls.map((call) => call.args)).toEqual([
      ['-N', 'node-1', '-c', 'show daemons'],
      ['-N', 'node-1', '-c', 'show running-config'],
    ]);
  });

  it('is unreachable when vtysh reaches no daemon', async () => {
    const { run } = recordingRun(() => ({
      code: 1,
      stdout: '',
      stderr: 'Exiting: failed to connect to any daemons.',
    }));
    expect(await local(run).probe()).toMatchObject({ reachable: false });
  });
});

describe('ReloaderFrr', () => {
  function reloader(onSignal: (signal: NodeJS.Signals | 0) => void) {
    const configFile = join(dir, 'frr.conf');
    const pidFile = join(dir, 'reloader.pid');
    writeFileSync(pidFile, '4242\n');
    const signals: (NodeJS.Signals | 0)[] = [];
    const control = new ReloaderFrr({
      configFile,
      pidFile,
      pollMs: 5,
      timeoutMs: 1000,
      sendSignal: (pid, signal) => {
        expect(pid).toBe(4242);
        signals.push(signal);
        onSignal(signal);
      },
    });
    return { control, signals, configFile };
  }

  it('signals the reloader and takes its success from a newer .status', async () => {
    writeFileSync(join(dir, '.status'), '1700000000 failure\n');
    const { control, signals, configFile } = reloader((signal) => {
      if (signal === 'SIGHUP')
        setTimeout(() => writeFileSync(join(dir, '.status'), '1700000100 success\n'), 20);
    });
    expect(await control.apply(configFile)).toEqual({ ok: true });
    expect(signals).toEqual(['SIGHUP']);
  });

  it("reports the reloader's failure", async () => {
    const { control, configFile } = reloader((signal) => {
      if (signal === 'SIGHUP')
        setTimeout(() => writeFileSync(join(dir, '.status'), '1700000100 failure\n'), 5);
    });
    const outcome = await control.apply(configFile);
    expect(outcome).toEqual({
      ok: false,
      error: 'the FRR reloader reported "1700000100 failure"; its log holds FRR\'s reason',
    });
  });

  it('gives up when the reloader does not answer, and when it is not running', async () => {
    const { control, configFile } = reloader(() => undefined);
    const silent = await control.apply(configFile);
    expect(silent.ok ? '' : silent.error).toContain('gave no verdict within 1000 ms');
    const gone = reloader(() => {
      throw new Error('kill ESRCH');
    });
    expect(await gone.control.probe()).toMatchObject({ reachable: false });
    const failed = await gone.control.apply(gone.configFile);
    expect(failed.ok ? '' : failed.error).toContain('cannot signal the reloader (PID 4242)');
  });

  it("probes the reloader's liveness and its last verdict", async () => {
    writeFileSync(join(dir, '.status'), '1700000100 failure\n');
    const { control } = reloader(() => undefined);
    expect(await control.probe()).toEqual({ reachable: true, lastReloadFailed: true });
  });
});

describe('redactFrrText', () => {
  it('hides every password in FRR configuration text', () => {
    expect(redactFrrText(' neighbor 192.0.2.1 password abc\n neighbor x PASSWORD  q!r')).toBe(
      ' neighbor 192.0.2.1 password [REDACTED]\n neighbor x PASSWORD  [REDACTED]',
    );
  });
});
