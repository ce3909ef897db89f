/**
 * Golden files and FRR's own parser for the renderer tests. Goldens are rewritten with UPDATE_GOLDEN=1;
 * `vtysh -C` (FRR's dry-run check) runs without any daemon, against a private config folder so it needs
 * neither root nor /etc/frr.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const testdataDir = 'src/speaker/bgp/testdata';

export function goldenPath(name: string): string {
  return join(testdataDir, `${name}.golden.conf`);
}

/** The golden text for `name`, after rewriting it with `actual` when UPDATE_GOLDEN=1. */
export function readGolden(name: string, actual: string): string {
  const path = goldenPath(name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  if (!existsSync(path)) return `(missing ${path}: run the tests with UPDATE_GOLDEN=1 to create it)`;
  return readFileSync(path, 'utf8');
}

/** The vtysh binary on PATH (or FRR's usual place), or undefined when FRR is not installed. */
export function findVtysh(): string | undefined {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const dir of candidates) {
    const path = join(dir, 'vtysh');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface VtyshCheck {
  readonly ok: boolean;
  /** vtysh's complaints, e.g. "line 12: % Unknown command: ...". */
  readonly output: string;
}

let configDir: string | undefined;

/** Runs `vtysh --config_dir DIR -C -f FILE`: parses every line as FRR 8.4 would, applies nothing. */
export function vtyshDryRun(vtysh: string, file: string): VtyshCheck {
  if (!configDir) {
    configDir = mkdtempSync(join(tmpdir(), 'vtysh-'));
    // vtysh reads vtysh.conf from its config folder first and complains when there is none.
    writeFileSync(join(configDir, 'vtysh.conf'), 'service integrated-vtysh-config\n');
  }
  const result = spawnSync(vtysh, ['--config_dir', configDir, '-C', '-f', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const output =
    `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim();
  return { ok: result.status === 0, output };
}

/**
 * FRR JSON samples: JSON that FRR 8.4.4 printed for a speaker instance with three neighbours: 192.0.2.254 established with BFD
 * and two prefixes sent, 192.0.2.253 with a password the router does not share, 192.0.2.250 with nobody
 * there. Variants: the router's bgpd killed (router-stopped) and the router refusing our ASN (notification).
 * Captured with `vtysh -N <ps> -c 'show bgp vrf all neighbors json'`, `show bfd peers json` and
 * `show bfd peers counters json` against FRR instances in two network namespaces joined by a veth pair.
 */
export const frrSampleDir = 'src/speaker/bgp/testdata/frr-json';

export function readFrrSample(name: string): unknown {
  return JSON.parse(readFileSync(join(frrSampleDir, name), 'utf8')) as unknown;
}
