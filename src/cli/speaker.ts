/**
 * `metallb speaker`: announces this node's LoadBalancer IPs over BGP through FRR, as the speaker DaemonSet
 * runs it. It accepts every flag src/operator/render passes to the speaker container (`--node-name`,
 * `--namespace`, `--port`, `--health-probe-port`, `--log-level`, `--lb-class`).
 *
 * Two ways to reach FRR (see src/speaker/bgp/frr-control.ts): `--frr-mode reloader`, the pod layout, writes
 * $FRR_CONFIG_FILE and signals the reloader sidecar; `--frr-mode local` runs FRR's reload tool itself
 * against an FRR instance on this machine, optionally one started with `-N PATHSPACE` (e.g. inside a
 * network namespace: the speaker needs only FRR's unix sockets under /var/run/frr/PATHSPACE).
 *
 * Once its servers listen it logs `{"msg":"speaker ready","metricsPort":…,"healthPort":…}`.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LevelWithSilent } from 'pino';
import type { Command } from './command.js';
import { exitUsage } from './command.js';
import { loadKubeConfig } from '../runtime/kube-config.js';
import { createLogger, logLevelFlags, parseLogLevel } from '../runtime/logging.js';
import { Shutdown } from '../runtime/shutdown.js';
import { SpeakerApp, type FrrMode, type FrrSettings } from '../speaker/app.js';
import type { FrrLogLevel } from '../speaker/bgp/frr-config.js';

const defaults = {
  namespace: 'metallb-system',
  metricsPort: '9120',
  healthPort: '17472',
  bindAddress: '0.0.0.0',
  frrMode: 'reloader' as FrrMode,
  frrBinDir: '/usr/lib/frr',
  frrConfDir: '/etc/frr',
  reloaderConfigFile: '/etc/frr_reloader/frr.conf',
  checkInterval: '5s',
};

function parsePort(flag: string, value: string): number | string {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    return `--${flag} "${value}" is not a port: give a number from 0 to 65535 (0 picks a free port)`;
  }
  return port;
}

/** "500ms", "5s", "1m" → milliseconds. */
export function parseDuration(flag: string, value: string): number | string {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim());
  const unit = match?.[2];
  const amount = Number(match?.[1]);
  const ms = unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000;
  if (!match || !Number.isFinite(ms) || ms < 100) {
    return `--${flag} "${value}" is not a duration of at least 100ms: write e.g. 500ms, 5s or 1m`;
  }
  return Math.round(ms);
}

/** HOST:PORT for the servers, bracketing IPv6 hosts. */
export function bindAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** FRR's log level for the speaker's --log-level. */
function frrLogLevel(level: LevelWithSilent): FrrLogLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return 'debugging';
    case 'info':
      return 'informational';
    case 'warn':
      return 'warnings';
    case 'error':
    case 'fatal':
      return 'errors';
    default:
      return 'emergencies';
  }
}

/** A pathspace becomes part of FRR's socket and configuration paths: a plain name only. */
function pathspaceProblem(value: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value)
    ? undefined
    : `--frr-pathspace "${value}" must be a plain name (letters, digits, '.', '_', '-')`;
}

/**
 * Creates `dir` for this user only, or checks that the existing one is: a folder in a shared place like
 * /tmp could have been planted by someone else to read the passwords frr-reload.py writes there.
 */
function privateFolderProblem(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stats = lstatSync(dir);
    if (!stats.isDirectory()) return `${dir} is not a folder`;
    if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) {
      return `${dir} belongs to another user; remove it or pass --frr-config-file in a folder of your own`;
    }
    if ((stats.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return undefined;
  } catch (error) {
    return `cannot prepare ${dir}: ${(error as Error).message}`;
  }
}

export const speakerCommand: Command = {
  name: 'speaker',
  summary: "Announce this node's LoadBalancer IPs over BGP through FRR (the MetalLB speaker).",
  usage:
    'metallb speaker --node NAME [--kubeconfig PATH] [--namespace NS] [--frr-mode local|reloader] [flags]',
  options: {
    node: {
      type: 'string',
      valueName: 'NAME',
      description: 'The Node this speaker runs for',
      defaultText: '$METALLB_NODE_NAME',
    },
    'node-name': { type: 'string', valueName: 'NAME', description: 'Same as --node' },
    kubeconfig: {
      type: 'string',
      valueName: 'PATH',
      description: 'The cluster to watch',
      defaultText: '$KUBECONFIG, then the in-cluster service account',
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NS',
      description: 'Where the MetalLB objects, their Secrets and the ServiceBGPStatus objects live',
      defaultText: defaults.namespace,
    },
    'log-level': {
      type: 'string',
      valueName: 'LEVEL',
      description: `Log verbosity: ${logLevelFlags.join(', ')} (FRR's log level follows)`,
      defaultText: 'info',
    },
    'lb-class': {
      type: 'string',
      valueName: 'CLASS',
      description:
        'Announce only Services with this spec.loadBalancerClass; without it, only Services that set no class',
    },
    'ignore-exclude-lb': {
      type: 'boolean',
      description:
        'Announce even from a node labelled node.kubernetes.io/exclude-from-external-load-balancers',
    },
    'disable-l2': {
      type: 'boolean',
      description:
        'Never answer ARP/NDP and write no heartbeat Lease (BGP only); without it layer 2 starts once an L2Advertisement exists',
    },
    port: {
      type: 'string',
      valueName: 'PORT',
      description: 'Port of the Prometheus /metrics endpoint; 0 picks a free port (logged at start)',
      defaultText: defaults.metricsPort,
    },
    'health-probe-port': {
      type: 'string',
      valueName: 'PORT',
      description: 'Port of /healthz and /readyz; 0 picks a free port (logged at start)',
      defaultText: defaults.healthPort,
    },
    'bind-address': {
      type: 'string',
      valueName: 'IP',
      description: 'Address the metrics and probe servers listen on',
      defaultText: defaults.bindAddress,
    },
    'frr-mode': {
      type: 'string',
      valueName: 'local|reloader',
      description:
        'reloader: write --frr-config-file and signal the reloader sidecar (pod layout); local: run frr-reload.py against the FRR instance on this machine',
      defaultText: defaults.frrMode,
    },
    'frr-pathspace': {
      type: 'string',
      valueName: 'NAME',
      description:
        'The -N pathspace of the FRR instance to drive (its sockets are under /var/run/frr/NAME; vtysh -N NAME)',
    },
    'frr-config-file': {
      type: 'string',
      valueName: 'PATH',
      description: 'Where the speaker writes frr.conf (mode 0600)',
      defaultText: `reloader: $FRR_CONFIG_FILE or ${defaults.reloaderConfigFile}; local: a private temporary folder`,
    },
    'frr-reloader-pid-file': {
      type: 'string',
      valueName: 'PATH',
      description: "The reloader's PID file (reloader mode)",
      defaultText: '$FRR_RELOADER_PID_FILE or reloader.pid next to the config file',
    },
    'frr-bin-dir': {
      type: 'string',
      valueName: 'DIR',
      description: "Where FRR's frr-reload.py is (local mode)",
      defaultText: defaults.frrBinDir,
    },
    'frr-conf-dir': {
      type: 'string',
      valueName: 'DIR',
      description:
        "FRR's configuration folder; with a pathspace the instance's is DIR/NAME, where the applied configuration is saved (local mode)",
      defaultText: defaults.frrConfDir,
    },
    'frr-reload-interval': {
      type: 'string',
      valueName: 'DURATION',
      description:
        "How often FRR is checked: restarted daemons and a running configuration that drifted get the speaker's configuration again (e.g. 2s, 500ms)",
      defaultText: defaults.checkInterval,
    },
  },
  async run(values, positionals, io) {
    const text = (name: string): string | undefined =>
      typeof values[name] === 'string' ? (values[name] as string) : undefined;
    const usage = (message: string): number => {
      io.err(`speaker: ${message}`);
      return exitUsage;
    };
    if (positionals.length > 0) {
      return usage(`unexpected argument "${positionals[0] as string}"; see metallb speaker --help`);
    }
    const nodeFlag = text('node');
    const nodeNameFlag = text('node-name');
    if (nodeFlag !== undefined && nodeNameFlag !== undefined && nodeFlag !== nodeNameFlag) {
      return usage(`--node "${nodeFlag}" and --node-name "${nodeNameFlag}" differ; give one of them`);
    }
    const node = (nodeFlag ?? nodeNameFlag ?? process.env.METALLB_NODE_NAME ?? '').trim();
    if (!node) return usage('give the node this speaker runs for with --node NAME');

    const metricsPort = parsePort('port', text('port') ?? defaults.metricsPort);
    const healthPort = parsePort('health-probe-port', text('health-probe-port') ?? defaults.healthPort);
    const checkIntervalMs = parseDuration(
      'frr-reload-interval',
      text('frr-reload-interval') ?? defaults.checkInterval,
    );
    for (const parsed of [metricsPort, healthPort, checkIntervalMs]) {
      if (typeof parsed === 'string') return usage(parsed);
    }
    let level: LevelWithSilent;
    try {
      level = parseLogLevel(text('log-level') ?? 'info');
    } catch (error) {
      return usage(`--log-level: ${(error as Error).message}`);
    }
    const lbClass = text('lb-class');
    if (lbClass === '')
      return usage('--lb-class is empty; leave the flag out to serve Services without a class');
    const mode = text('frr-mode') ?? defaults.frrMode;
    if (mode !== 'local' && mode !== 'reloader') {
      return usage(`--frr-mode "${mode}" must be local or reloader`);
    }
    const pathspace = text('frr-pathspace') || undefined;
    const pathspaceError = pathspace === undefined ? undefined : pathspaceProblem(pathspace);
    if (pathspaceError) return usage(pathspaceError);
    const namespace = text('namespace') || defaults.namespace;
    const host = text('bind-address') || defaults.bindAddress;

    // frr-reload.py writes scratch files holding configuration lines (passwords): keep them private.
    const scratchDir = join(tmpdir(), `metallb-speaker-${pathspace ?? node}`);
    const configFile =
      text('frr-config-file') ??
      (mode === 'reloader'
        ? process.env.FRR_CONFIG_FILE || defaults.reloaderConfigFile
        : join(scratchDir, 'frr.conf'));
    const frr: FrrSettings = {
      mode,
      ...(pathspace ? { pathspace } : {}),
      configFile,
      binDir: text('frr-bin-dir') || defaults.frrBinDir,
      confDir: text('frr-conf-dir') || defaults.frrConfDir,
      scratchDir,
      reloaderPidFile:
        text('frr-reloader-pid-file') ||
        process.env.FRR_RELOADER_PID_FILE ||
        join(dirname(configFile), 'reloader.pid'),
      checkIntervalMs: checkIntervalMs as number,
      logLevel: frrLogLevel(level),
      toolLogLevel: level === 'debug' || level === 'trace' ? 'info' : 'warning',
    };

    const log = createLogger({ component: 'speaker', level });
    let kubeConfig;
    try {
      const kubeconfigFlag = text('kubeconfig');
      const loaded = loadKubeConfig(kubeconfigFlag ? { kubeconfig: kubeconfigFlag } : {});
      kubeConfig = loaded.kubeConfig;
      log.info({ kubeconfig: loaded.source, server: kubeConfig.getCurrentCluster()?.server }, 'credentials');
    } catch (error) {
      io.err(`speaker: ${(error as Error).message}`);
      return 1;
    }
    if (mode === 'local') {
      const problem = privateFolderProblem(scratchDir);
      if (problem) {
        io.err(`speaker: ${problem}`);
        return 1;
      }
    }

    const shutdown = new Shutdown({ logger: log });
    const app = new SpeakerApp({
      kubeConfig,
      node,
      namespace,
      lbClass,
      ignoreExcludeLabel: values['ignore-exclude-lb'] === true,
      layer2: values['disable-l2'] !== true,
      metricsBindAddress: bindAddress(host, metricsPort as number),
      healthBindAddress: bindAddress(host, healthPort as number),
      frr,
      logger: log,
    });
    if (mode === 'local') {
      // Registered first, so it runs last: frr.conf there holds passwords, and nothing needs it once stopped.
      shutdown.register('scratch folder', () => rmSync(scratchDir, { recursive: true, force: true }));
    }
    shutdown.register('speaker', () => app.stop());
    shutdown.install();
    try {
      await app.start();
    } catch (error) {
      log.error({ err: error }, 'could not start');
      await app.stop().catch(() => undefined);
      shutdown.uninstall();
      return 1;
    }
    log.info(
      {
        node,
        namespace,
        lbClass: lbClass ?? null,
        frrMode: mode,
        frrPathspace: pathspace ?? null,
        frrConfigFile: configFile,
        metricsPort: app.metricsPort,
        healthPort: app.healthPort,
      },
      'speaker ready',
    );
    // Runs until a signal ends the process through Shutdown.
    return new Promise<number>(() => undefined);
  },
};
