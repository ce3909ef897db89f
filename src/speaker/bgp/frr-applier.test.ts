import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, flushMicrotasks } from '../../../test/support/fake-clock.js';
import { FrrApplier, writeFileAtomically, type FrrApplierOptions } from './frr-applier.js';
import type { ApplyOutcome, DaemonPids, FrrControl, FrrProbe } from './frr-control.js';

class FakeFrr implements FrrControl {
  readonly description = 'fake FRR';
  /** Outcomes of the next applies; ok once they run out. */
  readonly outcomes: ApplyOutcome[] = [];
  /** The file's content at each apply. */
  readonly applied: string[] = [];
  probeResult: FrrProbe = { reachable: true, daemons: ['zebra', 'bgpd', 'bfdd'], runningConfig: 'one' };
  currentPids: DaemonPids = { zebra: 10, bgpd: 11, bfdd: 12 };
  /** What happened, in order: "replay <text>" and "apply <text>". */
  readonly steps: string[] = [];

  async apply(file: string): Promise<ApplyOutcome> {
    const text = readFileSync(file, 'utf8');
    this.applied.push(text);
    this.steps.push(`apply ${text.trim()}`);
    return this.outcomes.shift() ?? { ok: true };
  }

  async replay(file: string): Promise<ApplyOutcome> {
    this.steps.push(`replay ${readFileSync(file, 'utf8').trim()}`);
    return { ok: true };
  }

  async pids(): Promise<DaemonPids> {
    return this.currentPids;
  }

  async probe(): Promise<FrrProbe> {
    return this.probeResult;
  }
}

/** A control that can also run a few lines through vtysh, recording them. */
class FakeFrrWithVtysh extends FakeFrr {
  /** Outcomes of the next executes; ok once they run out. */
  readonly executeOutcomes: ApplyOutcome[] = [];

  async execute(file: string): Promise<ApplyOutcome> {
    this.steps.push(`execute ${readFileSync(file, 'utf8').trim()}`);
    return this.executeOutcomes.shift() ?? { ok: true };
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'frr-applier-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function setup(options: Partial<FrrApplierOptions> = {}, frr = new FakeFrr()) {
  const clock = new FakeClock();
  const failing: string[] = [];
  let recovered = 0;
  const applier = new FrrApplier({
    control: frr,
    configFile: join(dir, 'frr.conf'),
    clock,
    random: () => 0,
    checkIntervalMs: 5000,
    hooks: { onFailing: (error) => failing.push(error), onRecovered: () => (recovered += 1) },
    ...options,
  });
  applier.start();
  const settle = async () => {
    await flushMicrotasks();
    await applier.idle();
    await flushMicrotasks();
  };
  return { clock, frr, applier, failing, recovered: () => recovered, settle };
}

describe('FrrApplier', () => {
  it('applies a new configuration once, skips identical ones, and keeps the file private', async () => {
    const { frr, applier, settle } = setup();
    applier.setDesired('config a\n');
    await settle();
    applier.setDesired('config a\n');
    await settle();
    expect(frr.applied).toEqual(['config a\n']);
    applier.setDesired('config b\n');
    await settle();
    expect(frr.applied).toEqual(['config a\n', 'config b\n']);
    expect(statSync(join(dir, 'frr.conf')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['frr.conf']);
    expect(applier.status()).toMatchObject({ applied: true, failing: false, reachable: true });
    expect(applier.isHealthy()).toBe(true);
    await applier.stop();
  });

  it('applies nothing before it has a configuration', async () => {
    const { frr, settle, applier } = setup();
    await settle();
    expect(frr.applied).toEqual([]);
    expect(applier.isHealthy()).toBe(true);
    await applier.stop();
  });

  it('retries a single failure quietly (FRR 8.4 rejects the first graceful-restart reload once)', async () => {
    const { clock, frr, applier, failing, settle } = setup();
    frr.outcomes.push({ ok: false, error: 'frr-reload.py exited with 1' });
    applier.setDesired('neighbor 192.0.2.254 graceful-restart\n');
    await settle();
    expect(applier.status()).toMatchObject({ applied: false, failing: false, consecutiveFailures: 1 });
    expect(clock.pendingDelays()).toContain(500);
    await clock.advanceAsync(500);
    await settle();
    expect(frr.applied).toHaveLength(2);
    expect(applier.status()).toMatchObject({ applied: true, failing: false, consecutiveFailures: 0 });
    expect(failing).toEqual([]);
    await applier.stop();
  });

  it('retries a rejected configuration with growing backoff, reports it once, and recovers', async () => {
    const { clock, frr, applier, failing, recovered, settle } = setup();
    for (let i = 0; i < 3; i++) frr.outcomes.push({ ok: false, error: 'line 3: % Unknown command' });
    applier.setDesired('bad\n');
    await settle();
    await clock.advanceAsync(500);
    await settle();
    expect(applier.status()).toMatchObject({ failing: true, lastError: 'line 3: % Unknown command' });
    expect(applier.isHealthy()).toBe(false);
    expect(failing).toEqual(['line 3: % Unknown command']);
    expect(clock.pendingDelays()).toContain(1000);
    await clock.advanceAsync(1000);
    await settle();
    expect(failing).toHaveLength(1);
    expect(frr.applied).toEqual(['bad\n', 'bad\n', 'bad\n']);
    await clock.advanceAsync(2000);
    await settle();
    expect(frr.applied).toHaveLength(4);
    expect(applier.status()).toMatchObject({ applied: true, failing: false });
    expect(recovered()).toBe(1);
    expect(applier.isHealthy()).toBe(true);
    await applier.stop();
  });

  it('tries a new configuration at once instead of waiting out the backoff of the old one', async () => {
    const { frr, applier, settle } = setup();
    frr.outcomes.push({ ok: false, error: 'rejected' });
    applier.setDesired('bad\n');
    await settle();
    applier.setDesired('good\n');
    await settle();
    expect(frr.applied).toEqual(['bad\n', 'good\n']);
    expect(applier.status().applied).toBe(true);
    await applier.stop();
  });

  it('applies the configuration again when the running configuration drifted (a daemon restarted empty)', async () => {
    const { clock, frr, applier, settle } = setup();
    applier.setDesired('config\n');
    await settle();
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toHaveLength(1);
    frr.probeResult = { ...frr.probeResult, runningConfig: 'without bgp' };
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toEqual(['config\n', 'config\n']);
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toHaveLength(2);
    await applier.stop();
  });

  it('waits while daemons are down and applies again as soon as they are back', async () => {
    const { clock, frr, applier, settle } = setup();
    applier.setDesired('config\n');
    await settle();
    frr.probeResult = { reachable: true, daemons: ['zebra', 'bfdd'], runningConfig: 'partial' };
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toHaveLength(1);
    // bgpd came back and read the saved configuration: same running configuration, still re-applied.
    frr.probeResult = { reachable: true, daemons: ['zebra', 'bgpd', 'bfdd'], runningConfig: 'one' };
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toHaveLength(2);
    await applier.stop();
  });

  it('applies again when FRR becomes reachable after being unreachable, without waiting for a backoff', async () => {
    const { clock, frr, applier, settle } = setup();
    applier.setDesired('config\n');
    await settle();
    frr.probeResult = { reachable: false, detail: 'vtysh reaches no FRR daemon' };
    await clock.advanceAsync(5000);
    await settle();
    expect(applier.isHealthy()).toBe(false);
    frr.probeResult = { reachable: true, daemons: ['zebra', 'bgpd', 'bfdd'], runningConfig: 'empty' };
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toHaveLength(2);
    expect(applier.isHealthy()).toBe(true);
    await applier.stop();
  });

  it('applies as soon as FRR starts after the speaker, without waiting out the backoff its absence grew', async () => {
    const { clock, frr, applier, settle } = setup();
    frr.probeResult = { reachable: false, detail: 'vtysh reaches no FRR daemon' };
    for (let i = 0; i < 6; i++) frr.outcomes.push({ ok: false, error: 'vtysh reaches no FRR daemon' });
    applier.setDesired('config\n');
    await settle();
    await clock.advanceAsync(8000);
    await settle();
    const failedAttempts = frr.applied.length;
    expect(clock.pendingDelays().some((delay) => delay > 5000)).toBe(true);
    frr.outcomes.length = 0;
    frr.probeResult = { reachable: true, daemons: ['zebra', 'bgpd'], runningConfig: 'empty' };
    // The next check (at 10 s) finds FRR; the pending retry would only come at 15.5 s.
    await clock.advanceAsync(2000);
    await settle();
    expect(frr.applied).toHaveLength(failedAttempts + 1);
    expect(applier.status()).toMatchObject({ applied: true, reachable: true });
    await applier.stop();
  });

  it('replays the whole file before the first apply and after a restart, but not for ordinary changes', async () => {
    const { clock, frr, applier, settle } = setup();
    applier.setDesired('a\n');
    await settle();
    applier.setDesired('b\n');
    await settle();
    expect(frr.steps).toEqual(['replay a', 'apply a', 'apply b']);
    // bgpd restarted between two checks; its PID gives it away even though the configuration looks the same.
    frr.currentPids = { ...frr.currentPids, bgpd: 99 };
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.steps).toEqual(['replay a', 'apply a', 'apply b', 'replay b', 'apply b']);
    // One more pass once the daemons have settled, then quiet.
    await clock.advanceAsync(10_000);
    await settle();
    expect(frr.steps.slice(5)).toEqual(['replay b', 'apply b']);
    await clock.advanceAsync(30_000);
    await settle();
    expect(frr.steps).toHaveLength(7);
    await applier.stop();
  });

  it('applies again when the reloader recorded a failure after the last success', async () => {
    const { clock, frr, applier, settle } = setup();
    frr.probeResult = { reachable: true, lastReloadFailed: false };
    applier.setDesired('config\n');
    await settle();
    frr.probeResult = { reachable: true, lastReloadFailed: true };
    frr.outcomes.push({ ok: true });
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.applied).toHaveLength(2);
    await applier.stop();
  });
});

/** A worker's frr.conf announcing `entries` to one peer's list. */
const config = (...entries: string[]) =>
  [
    'hostname worker-0',
    ...entries.map((entry, index) => `ip prefix-list tor-allowed-ipv4 seq ${index + 2} permit ${entry}`),
    'router bgp 64512',
    ' address-family ipv4 unicast',
    ...entries.map((entry) => `  network ${entry}`),
    ' exit-address-family',
    'exit',
    '',
  ].join('\n');

describe('FrrApplier fast path for address changes', () => {
  it('runs only the changed lines once FRR runs the previous text, keeping the file whole', async () => {
    const frr = new FakeFrrWithVtysh();
    const { applier, settle } = setup({}, frr);
    applier.setDesired(config('198.51.100.1/32'));
    await settle();
    applier.setDesired(config('198.51.100.1/32', '198.51.100.2/32'));
    await settle();
    expect(frr.steps.map((step) => step.split('\n')[0])).toEqual([
      'replay hostname worker-0',
      'apply hostname worker-0',
      'execute ip prefix-list tor-allowed-ipv4 seq 3 permit 198.51.100.2/32',
    ]);
    expect(frr.steps[2]).toContain('  network 198.51.100.2/32');
    expect(readFileSync(join(dir, 'frr.conf'), 'utf8')).toBe(config('198.51.100.1/32', '198.51.100.2/32'));
    expect(statSync(join(dir, '.frr.conf.changes')).mode & 0o777).toBe(0o600);
    expect(applier.status()).toMatchObject({ applied: true, failing: false });
    await applier.stop();
  });

  it('does not probe after a fast apply: the next quiet check takes the running configuration as the reference', async () => {
    const frr = new FakeFrrWithVtysh();
    const { clock, applier, settle } = setup({}, frr);
    applier.setDesired(config('198.51.100.1/32'));
    await settle();
    applier.setDesired(config('198.51.100.1/32', '198.51.100.2/32'));
    frr.probeResult = { ...frr.probeResult, runningConfig: 'with .2' };
    await settle();
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.steps).toHaveLength(3);
    // Drift after that reference is still drift.
    frr.probeResult = { ...frr.probeResult, runningConfig: 'emptied' };
    await clock.advanceAsync(5000);
    await settle();
    expect(frr.steps.slice(3).map((step) => step.split('\n')[0])).toEqual([
      'replay hostname worker-0',
      'apply hostname worker-0',
    ]);
    await applier.stop();
  });

  it('falls back to a full reload in the same attempt when vtysh refuses a line', async () => {
    const frr = new FakeFrrWithVtysh();
    const { applier, settle } = setup({}, frr);
    applier.setDesired(config('198.51.100.1/32'));
    await settle();
    frr.executeOutcomes.push({ ok: false, error: 'vtysh -f exited with 13' });
    applier.setDesired(config());
    await settle();
    expect(frr.steps.slice(2).map((step) => step.split('\n')[0])).toEqual([
      'execute router bgp 64512',
      'apply hostname worker-0',
    ]);
    expect(applier.status()).toMatchObject({ applied: true, failing: false, consecutiveFailures: 0 });
    await applier.stop();
  });

  it('reloads the whole file when more than addresses changed, and when FRR restarted', async () => {
    const frr = new FakeFrrWithVtysh();
    const { clock, applier, settle } = setup({}, frr);
    applier.setDesired(config('198.51.100.1/32'));
    await settle();
    applier.setDesired(config('198.51.100.1/32').replace('hostname worker-0', 'hostname worker-1'));
    await settle();
    expect(frr.steps.slice(2).map((step) => step.split('\n')[0])).toEqual(['apply hostname worker-1']);
    frr.currentPids = { ...frr.currentPids, bgpd: 99 };
    await clock.advanceAsync(5000);
    await settle();
    applier.setDesired(config('198.51.100.1/32', '198.51.100.2/32').replace('worker-0', 'worker-1'));
    await settle();
    // The restart is re-applied whole (replay, reload); the next address change is fast again.
    expect(frr.steps.slice(3).map((step) => step.split('\n')[0])).toEqual([
      'replay hostname worker-1',
      'apply hostname worker-1',
      'execute ip prefix-list tor-allowed-ipv4 seq 3 permit 198.51.100.2/32',
    ]);
    await applier.stop();
  });
});

describe('FrrApplier staged full apply (frr-staged.ts)', () => {
  /** Also reads bgpd's running configuration, as LocalFrr does. */
  class FakeFrrWithRunning extends FakeFrrWithVtysh {
    running = 'frr version 8.4\n';
    readonly readRunning = async () => ({ ok: true as const, text: this.running });
  }

  it('reloads without the addresses FRR lacks, adds them afterwards, and replays only the skeleton', async () => {
    const frr = new FakeFrrWithRunning();
    // FRR runs .1 already (a speaker restart); .2 and .3 are new.
    frr.running = config('198.51.100.1/32');
    const { applier, settle } = setup({}, frr);
    const desired = config('198.51.100.1/32', '198.51.100.2/32', '198.51.100.3/32');
    applier.setDesired(desired);
    await settle();
    const [replay, reload, ...chunks] = frr.steps;
    // The replay (FRR may have restarted) carries no address line: replaying 10,000 of them takes minutes.
    expect(replay).toBe(
      'replay hostname worker-0\nrouter bgp 64512\n address-family ipv4 unicast\n exit-address-family\nexit',
    );
    // frr-reload.py keeps .1 (it runs and stays: no flap) and gets neither .2 nor .3.
    expect(reload).toContain('permit 198.51.100.1/32');
    expect(reload).toContain('  network 198.51.100.1/32');
    expect(reload).not.toMatch(/198\.51\.100\.[23]/);
    // Then the new lines: prefix-list entries before the networks they filter.
    expect(chunks).toEqual([
      'execute ip prefix-list tor-allowed-ipv4 seq 3 permit 198.51.100.2/32\nip prefix-list tor-allowed-ipv4 seq 4 permit 198.51.100.3/32',
      'execute router bgp 64512\n address-family ipv4 unicast\n  network 198.51.100.2/32\n  network 198.51.100.3/32\n exit-address-family\nexit',
    ]);
    expect(readFileSync(join(dir, 'frr.conf'), 'utf8')).toBe(desired);
    expect(applier.status()).toMatchObject({ applied: true, failing: false });
    await applier.stop();
  });

  it('a chunk that fails fails the attempt; the retry starts from what FRR runs by then', async () => {
    const frr = new FakeFrrWithRunning();
    const { clock, applier, settle } = setup({}, frr);
    frr.executeOutcomes.push({ ok: false, error: 'vtysh -f exited with no code: killed after 120000 ms' });
    applier.setDesired(config('198.51.100.1/32', '198.51.100.2/32'));
    await settle();
    expect(applier.status()).toMatchObject({ applied: false, consecutiveFailures: 1 });
    // The killed vtysh got the prefix-list entries in; the retry only adds the networks.
    frr.running = config('198.51.100.1/32', '198.51.100.2/32').replace(/ {2}network .*\n/g, '');
    frr.steps.length = 0;
    await clock.advanceAsync(1000);
    await settle();
    expect(frr.steps.filter((step) => step.startsWith('execute'))).toEqual([
      'execute router bgp 64512\n address-family ipv4 unicast\n  network 198.51.100.1/32\n  network 198.51.100.2/32\n exit-address-family\nexit',
    ]);
    expect(applier.status()).toMatchObject({ applied: true, failing: false });
    await applier.stop();
  });

  it('does not probe FRR while an apply runs, so a busy FRR does not trigger a second full apply', async () => {
    const frr = new FakeFrrWithRunning();
    let release: (outcome: ApplyOutcome) => void = () => undefined;
    const slow = new Promise<ApplyOutcome>((resolve) => (release = resolve));
    const apply = frr.apply.bind(frr);
    let applies = 0;
    frr.apply = async (file: string) => {
      applies += 1;
      const outcome = await apply(file);
      return applies === 2 ? slow : outcome;
    };
    const { clock, applier, settle } = setup({}, frr);
    applier.setDesired(config('198.51.100.1/32'));
    await settle();
    frr.running = config('198.51.100.1/32');
    // A structural change (a reload), slow because FRR is busy.
    applier.setDesired(config('198.51.100.1/32').replace('hostname worker-0', 'hostname worker-1'));
    await flushMicrotasks();
    await flushMicrotasks();
    // The daemons are too busy to answer `show daemons` within its timeout while they digest it.
    frr.probeResult = { reachable: false, detail: 'vtysh was killed after 10000 ms' };
    await clock.advanceAsync(5000);
    await clock.advanceAsync(5000);
    frr.probeResult = { reachable: true, daemons: ['zebra', 'bgpd', 'bfdd'], runningConfig: 'one' };
    await clock.advanceAsync(5000);
    release({ ok: true });
    await settle();
    await clock.advanceAsync(5000);
    await settle();
    await clock.advanceAsync(15000);
    await settle();
    // One replay (the first apply after start); the slow reload is not followed by another full apply.
    expect(frr.steps.filter((step) => step.startsWith('replay'))).toHaveLength(1);
    expect(applies).toBe(2);
    expect(applier.status()).toMatchObject({ applied: true, reachable: true });
    await applier.stop();
  });
});

describe('writeFileAtomically', () => {
  it('replaces the file whole, with the given mode, leaving no temporary files', async () => {
    const path = join(dir, 'nested', 'frr.conf');
    await writeFileAtomically(path, 'one\n');
    await writeFileAtomically(path, 'two\n');
    expect(readFileSync(path, 'utf8')).toBe('two\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['frr.conf']);
  });
});
