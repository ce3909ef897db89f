/**
 * The FRR applier against a real FRR 8.4 (zebra and bgpd) started for this test under a private pathspace,
 * in this machine's network namespace: bgpd does not listen (-p 0) and vty sockets are unix-only (-P 0), so
 * it disturbs nothing. Needs root (FRR's daemons switch to the frr user) and FRR installed: fails otherwise.
 * Every daemon is stopped and every folder removed in afterAll, whatever happened.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { waitFor } from '../../test/cluster/wait-for.js';
import { FrrApplier } from './bgp/frr-applier.js';
import { renderFrrConfig } from './bgp/frr-config.js';
import { LocalFrr } from './bgp/frr-control.js';
import { Vtysh, findVtysh } from './bgp/frr-tools.js';
import { planBgp } from './plan/index.js';
import { configOf } from '../../test/support/config.js';
import { endpointSlice, service } from '../../test/support/kube-objects.js';
import { bgpAd, peer, pool } from '../../test/support/metallb-objects.js';
import { planNode } from '../../test/support/speaker.js';
import { requiring } from '../../test/support/prerequisites.js';

const daemonDir = '/usr/lib/frr';
const reloadScript = join(daemonDir, 'frr-reload.py');
// Without root or FRR the tests fail with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips them, listed in
// the summary.
const privileged = requiring('root', 'frr');

const pathspace = `mlbspk${process.pid}`;
const socketDir = `/var/run/frr/${pathspace}`;
let workDir = '';
const daemons = new Map<string, ChildProcess>();

function frrIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'frr'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function startDaemon(name: 'zebra' | 'bgpd', configFile: string): Promise<void> {
  const args = ['-N', pathspace, '-f', configFile, '-A', '127.0.0.1', '-P', '0', '--log', 'stdout'];
  if (name === 'bgpd') args.push('-p', '0');
  const child = spawn(join(daemonDir, name), args, { stdio: 'ignore' });
  daemons.set(name, child);
  // A killed daemon leaves its PID file and socket behind: wait for this process's own.
  const pidFile = join(socketDir, `${name}.pid`);
  await waitFor(
    `${name} to write its PID file`,
    () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(child.pid),
    10_000,
  );
  await waitFor(`${name} to open its vty socket`, () => existsSync(join(socketDir, `${name}.vty`)), 10_000);
}

async function stopDaemon(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = daemons.get(name);
  daemons.delete(name);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const vtysh = new Vtysh({ binary: findVtysh(), pathspace });

async function runningConfig(): Promise<string> {
  return vtysh.show('show running-config');
}

const pools = [pool('public', { addresses: ['198.51.100.0/24'] })];
const ads = [bgpAd('all', { ipAddressPools: ['public'] })];
const node = planNode('node-1');

/** frr.conf from the real plan and renderer, as the speaker would render it. */
function render(peers: ReturnType<typeof peer>[], services: ReturnType<typeof service>[]): string {
  const config = configOf({ pools, bgpAdvertisements: ads, peers });
  const plan = planBgp({
    config,
    node,
    services,
    endpointSlices: services.map((s) => endpointSlice(s.metadata?.name ?? '', { ready: ['node-1'] })),
  });
  return renderFrrConfig(plan, config, { hostname: 'node-1' });
}

const firstConfig = render(
  [peer('router', {})],
  [service('web', { ingress: ['198.51.100.10'], pool: 'public' })],
);
const secondConfig = render(
  [
    peer('router', {}),
    peer('secure', { peerAddress: '192.0.2.253', password: 'frr-only-secret', enableGracefulRestart: true }),
  ],
  [service('api', { ingress: ['198.51.100.11'], pool: 'public' })],
);

privileged.describe('the FRR applier against a real FRR instance under its own pathspace', () => {
  let applier: FrrApplier | undefined;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'metallb-frr-local-'));
    const { uid, gid } = frrIds();
    // FRR's configuration folder for this instance, private to the test (frr-reload.py saves into it).
    const confDir = join(workDir, 'etc');
    const instanceDir = join(confDir, pathspace);
    mkdirSync(instanceDir, { recursive: true });
    const empty = join(instanceDir, 'empty.conf');
    writeFileSync(join(instanceDir, 'vtysh.conf'), 'service integrated-vtysh-config\n');
    writeFileSync(join(instanceDir, 'frr.conf'), 'frr defaults traditional\n');
    writeFileSync(empty, 'frr defaults traditional\n');
    for (const path of [confDir, instanceDir, join(instanceDir, 'frr.conf'), empty])
      chownSync(path, uid, gid);
    await startDaemon('zebra', join(instanceDir, 'frr.conf'));
    await startDaemon('bgpd', join(instanceDir, 'frr.conf'));
    applier = new FrrApplier({
      control: new LocalFrr({
        vtysh,
        vtyshDir: dirname(findVtysh()),
        reloadScript,
        confDir,
        scratchDir: join(workDir, 'scratch'),
      }),
      configFile: join(workDir, 'scratch', 'frr.conf'),
      checkIntervalMs: 300,
    });
    applier.start();
  }, 30_000);

  afterAll(async () => {
    await applier?.stop();
    for (const name of [...daemons.keys()].reverse()) await stopDaemon(name);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    rmSync(socketDir, { recursive: true, force: true });
  }, 30_000);

  it('applies one configuration, then another, leaving nothing of the first behind', async () => {
    const frr = applier as FrrApplier;
    frr.setDesired(firstConfig);
    await waitFor('the first configuration to be applied', () => frr.status().applied, 30_000);
    let running = await runningConfig();
    expect(running).toContain('router bgp 64512');
    expect(running).toContain('neighbor 192.0.2.254 remote-as 64513');
    expect(running).toContain('network 198.51.100.10/32');
    expect(frr.isHealthy()).toBe(true);

    frr.setDesired(secondConfig);
    await waitFor('the second configuration to be applied', () => frr.status().applied, 30_000);
    running = await runningConfig();
    expect(running).toContain('network 198.51.100.11/32');
    expect(running).toContain('neighbor 192.0.2.253 password frr-only-secret');
    expect(running).toContain('neighbor 192.0.2.253 graceful-restart');
    expect(running).not.toContain('198.51.100.10');
    expect(frr.status().failing).toBe(false);
  }, 60_000);

  it('applies the configuration again when bgpd is killed and comes back without it', async () => {
    const frr = applier as FrrApplier;
    await stopDaemon('bgpd', 'SIGKILL');
    await startDaemon('bgpd', join(workDir, 'etc', pathspace, 'empty.conf'));
    await waitFor(
      'the speaker configuration to be back in the restarted bgpd',
      async () =>
        frr.status().applied && (await runningConfig().catch(() => '')).includes('network 198.51.100.11/32'),
      30_000,
    );
    expect(frr.status()).toMatchObject({ failing: false, reachable: true });
    // bgpd itself holds the route-maps its neighbours use again, not only zebra.
    const bgpdConfig = await vtysh.show('show running-config bgpd');
    expect(bgpdConfig).toContain('route-map 192.0.2.253-out permit');
    expect(bgpdConfig).toMatch(
      /^ip prefix-list 192\.0\.2\.253-allowed-ipv4 seq \d+ permit 198\.51\.100\.11\/32$/m,
    );
  }, 60_000);
});
