/**
 * `metallb controller`: assigns LoadBalancer IPs from the IPAddressPools, as the controller Deployment runs
 * it. The flags match what src/operator/render passes to the controller container. A replica that loses the
 * Lease exits: its allocation state can no longer be trusted, and a fresh start rebuilds it.
 */
import { componentCommand } from './component-command.js';
import * as flag from './flags.js';
import { controllerLeaseName as leaseName } from '../controller/lease-name.js';

export const controllerCommand = componentCommand({
  name: 'controller',
  summary: 'Assign IP addresses from IPAddressPools to LoadBalancer Services (the MetalLB controller).',
  usage: 'metallb controller [--kubeconfig PATH] [--namespace NS] [--lb-class CLASS] [flags]',
  flags: {
    kubeconfig: flag.kubeconfig('The cluster to manage'),
    namespace: flag.namespace('Where the IPAddressPools and the leader-election Lease live'),
    'lb-class': flag.loadBalancerClass('Serve'),
    'log-level': flag.logLevel(),
    ...flag.operandPorts(),
    ...flag.metricsSecurity(),
    'leader-elect': flag.booleanText({
      valueName: 'true|false',
      description: `Elect a leader through the Lease "${leaseName}", so that of several replicas only one assigns addresses`,
      default: true,
    }),
  },
  plan: (values) => ({
    host: {
      metricsBindAddress: `:${values.port}`,
      ...flag.metricsHostOptions(values),
      healthBindAddress: `:${values['health-probe-port']}`,
      // The Lease holder's name: the pod name when the Deployment passes it, else unique per process.
      identity: process.env.METALLB_POD_NAME,
      leaderElection: values['leader-elect']
        ? // An outage longer than the renew deadline costs the Lease; the next term starts from a fresh list
          // (ControllerApp.lead), so campaigning again is safe and no restart is needed.
          { leaseName, namespace: values.namespace, whenLost: 'campaign-again' }
        : undefined,
      create: async (context) => {
        const { ControllerApp } = await import('../controller/app.js');
        return new ControllerApp({
          client: context.client,
          servers: context.servers,
          namespace: values.namespace,
          loadBalancerClass: values['lb-class'],
          identity: context.identity,
          logger: context.log,
        });
      },
      ready: {
        message: 'controller running',
        fields: (_app, context) => ({
          identity: context.identity,
          namespace: values.namespace,
          loadBalancerClass: values['lb-class'] ?? null,
          leaderElect: values['leader-elect'],
        }),
      },
    },
  }),
});
