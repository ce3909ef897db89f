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
import { logLevelFlags } from '../runtime/logging.js';
import type { FrrSettings } from '../speaker/app.js';
import type { FrrLogLevel } from '../speaker/bgp/frr-config.js';
import { componentCommand } from './component-command.js';
import * as flag from './flags.js';

const defaults = {
  reloaderConfigFile: '/etc/frr_reloader/frr.conf',
};

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

export const speakerCommand = componentCommand({
  name: 'speaker',
  summary: "Announce this node's LoadBalancer IPs over BGP through FRR (the MetalLB speaker).",
  usage:
    'metallb speaker --node NAME [--kubeconfig PATH] [--namespace NS] [--frr-mode local|reloader] [flags]',
  flags: {
    node: flag.text({
      valueName: 'NAME',
      description: 'The Node this speaker runs for',
      defaultText: '$METALLB_NODE_NAME',
    }),
    'node-name': flag.text({ valueName: 'NAME', description: 'Same as --node' }),
    kubeconfig: flag.kubeconfig('The cluster to watch'),
    namespace: flag.namespace(
      'Where the MetalLB objects, their Secrets and the ServiceBGPStatus objects live',
    ),
    'log-level': flag.logLevel({
      description: `Log verbosity: ${logLevelFlags.join(', ')} (FRR's log level follows)`,
    }),
    'lb-class': flag.loadBalancerClass('Announce'),
    'ignore-exclude-lb': flag.presence({
      description:
        'Announce even from a node labelled node.kubernetes.io/exclude-from-external-load-balancers',
    }),
    'disable-l2': flag.presence({
      description:
        'Never answer ARP/NDP and write no heartbeat Lease (BGP only); without it layer 2 starts once an L2Advertisement exists',
    }),
    ...flag.operandPorts(),
    ...flag.metricsSecurity(),
    'bind-address': flag.text({
      valueName: 'IP',
      description: 'Address the metrics and probe servers listen on',
      default: '0.0.0.0',
    }),
    'frr-mode': flag.oneOf({
      valueName: 'local|reloader',
      description:
        'reloader: write --frr-config-file and signal the reloader sidecar (pod layout); local: run frr-reload.py against the FRR instance on this machine',
      words: ['local', 'reloader'],
      default: 'reloader',
    }),
    'frr-pathspace': flag.text({
      valueName: 'NAME',
      description:
        'The -N pathspace of the FRR instance to drive (its sockets are under /var/run/frr/NAME; vtysh -N NAME)',
    }),
    'frr-config-file': flag.text({
      valueName: 'PATH',
      description: 'Where the speaker writes frr.conf (mode 0600)',
      defaultText: `reloader: $FRR_CONFIG_FILE or ${defaults.reloaderConfigFile}; local: a private temporary folder`,
    }),
    'frr-reloader-pid-file': flag.text({
      valueName: 'PATH',
      description: "The reloader's PID file (reloader mode)",
      defaultText: '$FRR_RELOADER_PID_FILE or reloader.pid next to the config file',
    }),
    'frr-bin-dir': flag.text({
      valueName: 'DIR',
      description: "Where FRR's frr-reload.py is (local mode)",
      default: '/usr/lib/frr',
    }),
    'frr-conf-dir': flag.text({
      valueName: 'DIR',
      description:
        "FRR's configuration folder; with a pathspace the instance's is DIR/NAME, where the applied configuration is saved (local mode)",
      default: '/etc/frr',
    }),
    'frr-reload-interval': flag.duration({
      valueName: 'DURATION',
      description:
        "How often FRR is checked: restarted daemons and a running configuration that drifted get the speaker's configuration again (e.g. 2s, 500ms)",
      default: '5s',
      minimumMs: 100,
    }),
  },
  plan: (values) => {
    const { node: nodeFlag, 'node-name': nodeNameFlag } = values;
    if (nodeFlag !== undefined && nodeNameFlag !== undefined && nodeFlag !== nodeNameFlag) {
      return { usage: [`--node "${nodeFlag}" and --node-name "${nodeNameFlag}" differ; give one of them`] };
    }
    const node = (nodeFlag ?? nodeNameFlag ?? process.env.METALLB_NODE_NAME ?? '').trim();
    if (!node) return { usage: ['give the node this speaker runs for with --node NAME'] };
    const pathspace = values['frr-pathspace'];
    const pathspaceError = pathspace === undefined ? undefined : pathspaceProblem(pathspace);
    if (pathspaceError) return { usage: [pathspaceError] };

    const mode = values['frr-mode'];
    const level = values['log-level'];
    // frr-reload.py writes scratch files holding configuration lines (passwords): keep them private.
    const scratchDir = join(tmpdir(), `metallb-speaker-${pathspace ?? node}`);
    const configFile =
      values['frr-config-file'] ??
      (mode === 'reloader'
        ? process.env.FRR_CONFIG_FILE || defaults.reloaderConfigFile
        : join(scratchDir, 'frr.conf'));
    const frr: FrrSettings = {
      mode,
      ...(pathspace ? { pathspace } : {}),
      configFile,
      binDir: values['frr-bin-dir'],
      confDir: values['frr-conf-dir'],
      scratchDir,
      reloaderPidFile:
        values['frr-reloader-pid-file'] ||
        process.env.FRR_RELOADER_PID_FILE ||
        join(dirname(configFile), 'reloader.pid'),
      checkIntervalMs: values['frr-reload-interval'],
      logLevel: frrLogLevel(level),
      toolLogLevel: level === 'debug' || level === 'trace' ? 'info' : 'warning',
    };
    const host = values['bind-address'];
    return {
      host: {
        metricsBindAddress: flag.joinHostPort(host, values.port),
        ...flag.metricsHostOptions(values),
        healthBindAddress: flag.joinHostPort(host, values['health-probe-port']),
        create: async (context) => {
          if (mode === 'local') {
            const problem = privateFolderProblem(scratchDir);
            if (problem) throw new Error(problem);
          }
          const { SpeakerApp } = await import('../speaker/app.js');
          const app = new SpeakerApp({
            client: context.client,
            servers: context.servers,
            node,
            namespace: values.namespace,
            lbClass: values['lb-class'],
            ignoreExcludeLabel: values['ignore-exclude-lb'],
            layer2: !values['disable-l2'],
            frr,
            logger: context.log,
          });
          return {
            start: () => app.start(),
            stop: async () => {
              await app.stop();
              // frr.conf there holds passwords, and nothing needs it once the speaker stopped.
              if (mode === 'local') rmSync(scratchDir, { recursive: true, force: true });
            },
          };
        },
        ready: {
          message: 'speaker ready',
          fields: () => ({
            node,
            namespace: values.namespace,
            lbClass: values['lb-class'] ?? null,
            frrMode: mode,
            frrPathspace: pathspace ?? null,
            frrConfigFile: configFile,
          }),
        },
      },
    };
  },
});
