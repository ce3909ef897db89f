/** `metallb operator`: runs the operator until SIGTERM or SIGINT. */
import { formatProblem } from '../api/problem.js';
import { loadKubeConfig } from '../runtime/kube-config.js';
import { createLogger, isLogLevelFlag, logLevelFlags } from '../runtime/logging.js';
import { parseBindAddress } from '../runtime/http-server.js';
import { Shutdown } from '../runtime/shutdown.js';
import { parseOperatorEnv } from '../operator/env.js';
import { leaseName, startOperator } from '../operator/operator.js';
import type { Command } from './command.js';

function parseBoolean(text: string): boolean | undefined {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  return undefined;
}

export const operatorCommand: Command = {
  name: 'operator',
  summary:
    'Run the operator: the MetalLB resource becomes the controller Deployment and the speaker DaemonSet.',
  usage: 'metallb operator [--kubeconfig PATH] [--namespace NS] [flags]',
  options: {
    kubeconfig: {
      type: 'string',
      valueName: 'PATH',
      description: 'Cluster credentials',
      defaultText: '$KUBECONFIG, then the in-cluster service account',
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NS',
      description:
        'Where the MetalLB resource is read from, the workloads are deployed and the leader Lease lives',
      defaultText: '$OPERATOR_NAMESPACE, then metallb-system',
    },
    'log-level': {
      type: 'string',
      valueName: 'LEVEL',
      description: `Verbosity of the operator's own logs: ${logLevelFlags.join(', ')}`,
      defaultText: 'info',
    },
    'health-probe-bind-address': {
      type: 'string',
      valueName: 'ADDR',
      description: 'HOST:PORT serving /healthz (liveness) and /readyz (readiness); port 0 picks a free one',
      defaultText: ':8081',
    },
    'metrics-bind-address': {
      type: 'string',
      valueName: 'ADDR',
      description: 'HOST:PORT serving Prometheus metrics on /metrics, or 0 to serve none',
      defaultText: ':8080',
    },
    'leader-elect': {
      type: 'string',
      valueName: 'BOOL',
      description: `true or false: whether replicas elect one leader through the Lease ${leaseName} in the namespace, so only one reconciles`,
      defaultText: 'true',
    },
  },
  async run(values, positionals, io) {
    if (positionals.length > 0) {
      io.err(`operator: unexpected arguments: ${positionals.join(' ')}`);
      return 2;
    }
    const text = (name: string): string | undefined => {
      const value = values[name];
      return typeof value === 'string' ? value : undefined;
    };
    const logLevel = text('log-level') ?? 'info';
    if (!isLogLevelFlag(logLevel)) {
      io.err(`operator: --log-level must be one of ${logLevelFlags.join(', ')}, got "${logLevel}"`);
      return 2;
    }
    const leaderElect = parseBoolean(text('leader-elect') ?? 'true');
    if (leaderElect === undefined) {
      io.err(`operator: --leader-elect must be true or false, got "${text('leader-elect') ?? ''}"`);
      return 2;
    }
    const healthBindAddress = text('health-probe-bind-address') ?? ':8081';
    const metricsBindAddress = text('metrics-bind-address') ?? ':8080';
    for (const [flag, address] of [
      ['--health-probe-bind-address', healthBindAddress],
      ['--metrics-bind-address', metricsBindAddress === '0' ? ':0' : metricsBindAddress],
    ] as const) {
      try {
        parseBindAddress(address);
      } catch (error) {
        io.err(`operator: ${flag}: ${(error as Error).message}`);
        return 2;
      }
    }
    const namespace = text('namespace');
    const parsedEnv = parseOperatorEnv({
      ...process.env,
      ...(namespace !== undefined ? { OPERATOR_NAMESPACE: namespace } : {}),
    });
    if (!parsedEnv.ok) {
      for (const problem of parsedEnv.problems) io.err(formatProblem(problem));
      return 1;
    }
    const env = parsedEnv.env;

    let kubeConfig;
    let source;
    try {
      ({ kubeConfig, source } = loadKubeConfig({
        ...(text('kubeconfig') ? { kubeconfig: text('kubeconfig') } : {}),
      }));
    } catch (error) {
      io.err(`operator: ${(error as Error).message}`);
      return 1;
    }

    const log = createLogger({ component: 'operator', level: logLevel });
    // Set when the operator must stop with a failure whatever the stop hooks report.
    let failure: string | undefined;
    return new Promise<number>((resolve) => {
      const shutdown = new Shutdown({
        logger: log,
        exit: (code) => {
          const exitCode = failure ? 1 : code;
          resolve(exitCode);
          // Should a handle outlive the stop hooks, still end the process; unref'd, so it never holds it up.
          setTimeout(() => process.exit(exitCode), 2_000).unref();
        },
      }).install();
      log.info(
        {
          kubeconfig: source,
          server: kubeConfig.getCurrentCluster()?.server,
          namespace: env.namespace,
          controllerImage: env.controllerImage,
          speakerImage: env.speakerImage,
          frrImage: env.frrImage,
          leaderElect,
        },
        'starting the MetalLB operator',
      );
      startOperator({
        kubeConfig,
        env,
        log,
        shutdown,
        healthBindAddress,
        metricsBindAddress,
        leaderElect,
      }).then(
        ({ healthPort, metricsPort }) => log.info({ healthPort, metricsPort }, 'operator started'),
        (error: unknown) => {
          log.error({ err: error }, 'the operator could not start');
          failure = 'start-up failed';
          void shutdown.shutdown(failure);
        },
      );
    });
  },
};
