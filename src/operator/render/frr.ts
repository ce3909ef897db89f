/**
 * The files the FRR sidecars of the speaker pod start from. The speaker owns FRR's running configuration: it
 * writes frr.conf into the reloader volume and signals the reloader, which applies it with FRR's reload tool.
 */
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { namespacedMetadata, type OwnerIdentity } from './labels.js';

export const frrStartupConfigMapName = 'frr-startup';
export const frrReloaderConfigMapName = 'frr-reloader';

/** Paths inside the speaker pod, shared by the containers that mount the same volumes. */
export const frrPaths = {
  /** FRR's own configuration directory (writable copy of frr-startup). */
  configDir: '/etc/frr',
  /** FRR's vty and zebra sockets; vtysh, the reloader and frr-metrics talk to the daemons through them. */
  socketDir: '/var/run/frr',
  /** Where the frr-startup ConfigMap is mounted before being copied into configDir. */
  startupDir: '/tmp/frr',
  /** Exchange between speaker and reloader: the desired frr.conf, the reloader's PID and the outcome. */
  reloaderDir: '/etc/frr_reloader',
  reloaderScriptDir: '/usr/local/lib/metallb',
} as const;

export const frrConfigFile = `${frrPaths.reloaderDir}/frr.conf`;
export const frrReloaderPidFile = `${frrPaths.reloaderDir}/reloader.pid`;
export const frrReloaderScript = `${frrPaths.reloaderScriptDir}/frr-reloader.sh`;

// bgpd and bfdd listen for vty on loopback only: the pod shares the node's network.
const daemons = `# Daemons watchfrr starts in the frr container; zebra and staticd always run.
bgpd=yes
bfdd=yes
ospfd=no
ospf6d=no
ripd=no
ripngd=no
isisd=no
pimd=no
ldpd=no
nhrpd=no
eigrpd=no
babeld=no
sharpd=no
pbrd=no
fabricd=no
vrrpd=no
pathd=no

vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
bfdd_options="   -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
`;

// frr-reload.py works on the integrated configuration (one frr.conf for every daemon).
const vtyshConf = `service integrated-vtysh-config
`;

const initialFrrConf = `! Replaced by the speaker's first configuration as soon as it is running.
frr defaults traditional
log stdout informational
`;

const reloaderScript = `#!/bin/bash
# Applies the speaker's frr.conf to this pod's FRR daemons. The speaker writes
# ${frrConfigFile}, then sends SIGHUP to the PID in ${frrReloaderPidFile}.
# Requests that arrive while a reload runs fold into one more reload. Every attempt records
# "<epoch seconds> success|failure" in .status, from which the speaker learns that it must retry.
set -u
dir=${frrPaths.reloaderDir}
config="$dir/frr.conf"
reload_tool=/usr/lib/frr/frr-reload.py
requested=0

apply_config() {
  [ -s "$config" ] || return 0
  local outcome=failure
  if python3 "$reload_tool" --test --stdout "$config" &&
    python3 "$reload_tool" --reload --overwrite --stdout "$config"; then
    outcome=success
  fi
  echo "$(date +%s) $outcome" >"$dir/.status.tmp" && mv -f "$dir/.status.tmp" "$dir/.status"
  echo "frr-reloader: reload $outcome"
}

trap 'requested=1' HUP
trap 'exit 0' TERM INT
echo $$ >"$dir/reloader.pid"
while true; do
  if [ "$requested" = 1 ]; then
    requested=0
    apply_config
    continue
  fi
  # bash runs a trap only between commands, and wait (unlike a foreground sleep) returns when a
  # signal arrives; the short sleep bounds the delay of a signal that lands just before wait starts.
  sleep 5 &
  sleeper=$!
  wait "$sleeper"
  kill "$sleeper" 2>/dev/null
done
`;

/** The files FRR starts from, by name in its configuration folder; also the FRR image's defaults (images/frr). */
export const frrStartupFiles: Readonly<Record<string, string>> = {
  daemons,
  'frr.conf': initialFrrConf,
  'vtysh.conf': vtyshConf,
};

/**
 * The user and group FRR's daemons run as, and that own its files: the FRR image's (upstream's numbers, which our
 * image's /etc/passwd repeats).
 */
export const frrUser = 100;
export const frrGroup = 101;

export function frrStartupConfigMap(owner: OwnerIdentity): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: namespacedMetadata(frrStartupConfigMapName, 'speaker', owner),
    data: { ...frrStartupFiles },
  };
}

export function frrReloaderConfigMap(owner: OwnerIdentity): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: namespacedMetadata(frrReloaderConfigMapName, 'speaker', owner),
    data: { 'frr-reloader.sh': reloaderScript },
  };
}

/**
 * A digest of the files FRR starts from. Stamped on the speaker pod template so that pods restart when an
 * operator upgrade changes these files: they are read only at pod start.
 */
export function frrFilesDigest(): string {
  const hash = createHash('sha256');
  for (const content of [daemons, vtyshConf, initialFrrConf, reloaderScript])
    hash.update(content).update('\0');
  return hash.digest('hex').slice(0, 16);
}
