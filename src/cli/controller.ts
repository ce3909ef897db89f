/**
 * `metallb controller`: assigns LoadBalancer IPs from the IPAddressPools, as the controller Deployment runs
 * it. The flags match what src/operator/render passes to the controller container.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LevelWithSilent } from 'pino';
import type { Command } from './command.js';
import { exitUsage } from './command.js';
import { ControllerApp } from '../controller/app.js';
import { loadKubeConfig, type LoadedKubeConfig } from '../runtime/kube-config.js';
import { createLogger, logLevelFlags, parseLogLevel } from '../runtime/logging.js';
import { Shutdown } from '../runtime/shutdown.js';

function parsePort(flag: string, value: string): number | string {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    return `--${flag} "${value}" is not a port: give a number from 0 to 65535 (0 picks a free port)`;
  }
  return port;
}

function parseLogLevelFlag(value: string): LevelWithSilent | { readonly error: string } {
  try {
    return parseLogLevel(value);
  } catch (error) {
    return { error: `--log-level: ${(error as Error).message}` };
  }
}

function parseBoolean(flag: string, value: string): boolean | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return `--${flag} "${value}" must be true or false`;
}

/** The Lease holder's name: the pod name when the Deployment passes it, else unique per process. */
function replicaIdentity(): string {
  return process.env.METALLB_POD_NAME || `${hostname()}_${randomUUID()}`;
}

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'Assign IP addresses from IPAddressPools to LoadBalancer Services (the MetalLB controller).',
  usage: 'metallb controller [--kubeconfig PATH] [--namespace NS] [--lb-class CLASS] [flags]',
  options: {
    kubeconfig: {
      type: 'string',
      valueName: 'PATH',
      description: 'The cluster to manage',
      defaultText: '$KUBECONFIG, then the in-cluster service account',
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NS',
      description: 'Where the IPAddressPools and the leader-election Lease live',
      defaultText: 'metallb-system',
    },
    'lb-class': {
      type: 'string',
      valueName: 'CLASS',
      description:
        'Serve only Services with this spec.loadBalancerClass; without it, only Services that set no class',
    },
    'log-level': {
      type: 'string',
      valueName: 'LEVEL',
      description: `Log verbosity: ${logLevelFlags.join(', ')}`,
      defaultText: 'info',
    },
    port: {
      type: 'string',
      valueName: 'PORT',
      description: 'Port of the Prometheus /metrics endpoint; 0 picks a free port (logged at start)',
      defaultText: '9120',
    },
    'health-probe-port': {
      type: 'string',
      valueName: 'PORT',
      description:
        'Port of /healthz (liveness) and /readyz (readiness); 0 picks a free port (logged at start)',
      defaultText: '17472',
    },
    'leader-elect': {
      type: 'string',
      valueName: 'true|false',
      description:
        'Elect a leader through the Lease "metallb-controller", so that of several replicas only one assigns addresses',
      defaultText: 'true',
    },
  },
  async run(values, positionals, io) {
    const text = (name: string): string | undefined =>
      typeof values[name] === 'string' ? (values[name] as string) : undefined;
    if (positionals.length > 0) {
      io.err(`controller: unexpected argument "${positionals[0] as string}"; see metallb controller --help`);
      return exitUsage;
    }
    const metricsPort = parsePort('port', text('port') ?? '9120');
    const healthPort = parsePort('health-probe-port', text('health-probe-port') ?? '17472');
    const leaderElect = parseBoolean('leader-elect', text('leader-elect') ?? 'true');
    const level = parseLogLevelFlag(text('log-level') ?? 'info');
    for (const parsed of [metricsPort, healthPort, leaderElect]) {
      if (typeof parsed === 'string') {
        io.err(`controller: ${parsed}`);
        return exitUsage;
      }
    }
    if (typeof level === 'object') {
      io.err(`controller: ${level.error}`);
      return exitUsage;
    }
    const loadBalancerClass = text('lb-class');
    if (loadBalancerClass === '') {
      io.err('controller: --lb-class is empty; leave the flag out to serve Services without a class');
      return exitUsage;
    }
    const namespace = text('namespace') ?? 'metallb-system';

    const log = createLogger({ component: 'controller', level });
    let loaded: LoadedKubeConfig;
    try {
      const kubeconfigFlag = text('kubeconfig');
      loaded = loadKubeConfig(kubeconfigFlag ? { kubeconfig: kubeconfigFlag } : {});
    } catch (error) {
      io.err(`controller: ${(error as Error).message}`);
      return 1;
    }
    const kubeConfig = loaded.kubeConfig;
    log.info({ kubeconfig: loaded.source, server: kubeConfig.getCurrentCluster()?.server }, 'credentials');

    let lostLeadership = false;
    const shutdown = new Shutdown({
      logger: log,
      exit: (code) => process.exit(lostLeadership ? 1 : code),
    });
    const identity = replicaIdentity();
    const app = new ControllerApp({
      kubeConfig,
      namespace,
      loadBalancerClass,
      identity,
      leaderElect: leaderElect as boolean,
      metricsBindAddress: `:${metricsPort as number}`,
      healthBindAddress: `:${healthPort as number}`,
      logger: log,
      onLeadershipLost: () => {
        lostLeadership = true;
        log.error({ identity }, 'lost the leader lease; exiting so that a fresh start rebuilds the state');
        void shutdown.shutdown('lost the leader lease');
      },
    });
    shutdown.register('controller', () => app.stop());
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
        identity,
        namespace,
        loadBalancerClass: loadBalancerClass ?? null,
        leaderElect,
        metricsPort: app.metricsPort,
        healthProbePort: app.healthPort,
      },
      'controller running',
    );
    // Runs until a signal (or the loss of the Lease) ends the process through Shutdown.
    return new Promise<number>(() => undefined);
  },
};
