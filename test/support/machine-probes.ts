/**
 * What a machine must have for the tests and benchmarks that need root or FRR, and the one command that
 * gives it. Free of Jest, so benchmarks check the same things (test/support/prerequisites.ts builds the
 * tests' verdicts on it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findVtysh } from './frr.js';

export type Prerequisite = 'root' | 'frr';

/** What each prerequisite needs, and what to do when it is missing. */
export type Probes = Record<Prerequisite, () => string | undefined>;

const frrDaemonDir = '/usr/lib/frr';

export const machineProbes: Probes = {
  root: () =>
    process.getuid?.() === 0
      ? undefined
      : 'needs root (network namespaces; FRR daemons start as root and switch to the frr user): run as root, e.g. `sudo make test`',
  frr: () => {
    const missing = [
      findVtysh() ? undefined : 'vtysh',
      existsSync(`${frrDaemonDir}/bgpd`) ? undefined : `${frrDaemonDir}/bgpd`,
      existsSync(`${frrDaemonDir}/frr-reload.py`) ? undefined : `${frrDaemonDir}/frr-reload.py`,
      spawnSync('id', ['-u', 'frr']).status === 0 ? undefined : 'the frr user',
    ].filter((item): item is string => item !== undefined);
    return missing.length === 0
      ? undefined
      : `needs FRR (missing: ${missing.join(', ')}): run \`sudo bash scripts/system-deps.sh\``;
  },
};

/** The first reason the machine lacks one of `needs`, or undefined when it has them all. */
export function missingPrerequisite(...needs: readonly Prerequisite[]): string | undefined {
  return needs.map((need) => machineProbes[need]()).find((reason) => reason !== undefined);
}
