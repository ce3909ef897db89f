/**
 * `metallb operator`: runs the operator until SIGTERM or SIGINT. A replica that loses the Lease campaigns
 * again (the term's caches and reconciles stop with it; the next term starts fresh).
 */
import { formatProblem } from '../api/problem.js';
import { operatorLeaseName } from '../manifests/install/names.js';
import { parseOperatorEnv } from '../operator/env.js';
import { logLevelFlags } from '../runtime/logging.js';
import { componentCommand } from './component-command.js';
import * as flag from './flags.js';

/** The Lease the operator replicas elect a leader with; the install's Role is written for it. */
const leaseName = operatorLeaseName;

export const operatorCommand = componentCommand({
  name: 'operator',
  summary:
    'Run the operator: the MetalLB resource becomes the controller Deployment and the speaker DaemonSet.',
  usage: 'metallb operator [--kubeconfig PATH] [--namespace NS] [flags]',
  flags: {
    kubeconfig: flag.kubeconfig('Cluster credentials'),
    namespace: flag.text({
      short: 'n',
      valueName: 'NS',
      description:
        'Where the MetalLB resource is read from, the workloads are deployed and the leader Lease lives',
      defaultText: '$OPERATOR_NAMESPACE, then metallb-system',
    }),
    'log-level': flag.logLevel({
      description: `Verbosity of the operator's own logs: ${logLevelFlags.join(', ')}`,
    }),
    'health-probe-bind-address': flag.bindAddress({
      valueName: 'ADDR',
      description: 'HOST:PORT serving /healthz (liveness) and /readyz (readiness); port 0 picks a free one',
      default: ':8081',
    }),
    'metrics-bind-address': flag.bindAddress({
      valueName: 'ADDR',
      description: 'HOST:PORT serving Prometheus metrics on /metrics, or 0 to serve none',
      default: ':8080',
      off: '0',
    }),
    ...flag.metricsSecurity(),
    'leader-elect': flag.booleanText({
      valueName: 'BOOL',
      description: `true or false: whether replicas elect one leader through the Lease ${leaseName} in the namespace, so only one reconciles`,
      default: true,
    }),
  },
  plan: (values) => {
    const parsedEnv = parseOperatorEnv({
      ...process.env,
      ...(values.namespace !== undefined ? { OPERATOR_NAMESPACE: values.namespace } : {}),
    });
    if (!parsedEnv.ok) return { failure: parsedEnv.problems.map(formatProblem) };
    const env = parsedEnv.env;
    return {
      host: {
        healthBindAddress: values['health-probe-bind-address'],
        metricsBindAddress: values['metrics-bind-address'],
        ...flag.metricsHostOptions(values),
        leaderElection: values['leader-elect']
          ? { leaseName, namespace: env.namespace, whenLost: 'campaign-again' }
          : undefined,
        create: async (context) => {
          const { Operator } = await import('../operator/operator.js');
          context.log.info(
            {
              namespace: env.namespace,
              controllerImage: env.controllerImage,
              speakerImage: env.speakerImage,
              frrImage: env.frrImage,
              leaderElect: values['leader-elect'],
            },
            'starting the MetalLB operator',
          );
          return new Operator({
            client: context.client,
            servers: context.servers,
            env,
            log: context.log,
            identity: context.identity,
          });
        },
        ready: { message: 'operator started' },
      },
    };
  },
});
