import type { Command } from './command.js';
import { loadKubeConfig } from '../runtime/kube-config.js';
import { RawClient } from '../runtime/raw-client.js';
import { createLogger, isLogLevelFlag } from '../runtime/logging.js';
import { Shutdown } from '../runtime/shutdown.js';
import { runWebhook } from '../webhook/run.js';

export const webhookCommand: Command = {
  name: 'webhook',
  summary: 'Serve the validating admission webhooks and the BGPPeer conversion webhook.',
  usage: 'metallb webhook [--kubeconfig PATH] [--namespace NS] [--port N] [--cert-dir DIR | --local-url URL]',
  options: {
    kubeconfig: {
      type: 'string',
      valueName: 'PATH',
      description: 'Kubeconfig to use',
      defaultText: '$KUBECONFIG, then in-cluster',
    },
    namespace: {
      type: 'string',
      valueName: 'NS',
      description: 'The MetalLB namespace',
      defaultText: 'metallb-system',
    },
    host: { type: 'string', valueName: 'IP', description: 'Address to listen on', defaultText: '0.0.0.0' },
    port: { type: 'string', valueName: 'N', description: 'HTTPS port', defaultText: '9443' },
    'cert-dir': {
      type: 'string',
      valueName: 'DIR',
      description:
        'Use tls.crt and tls.key from DIR (OLM, cert-manager); without it certificates are self-managed',
    },
    'cert-secret': {
      type: 'string',
      valueName: 'NAME',
      description: 'Secret for self-managed certificates',
      defaultText: 'metallb-webhook-cert',
    },
    'service-name': {
      type: 'string',
      valueName: 'NAME',
      description: 'Service in front of the webhook',
      defaultText: 'metallb-webhook-service',
    },
    'webhook-configuration': {
      type: 'string',
      valueName: 'NAME',
      description: 'ValidatingWebhookConfiguration to publish the CA in',
      defaultText: 'metallb-webhook-configuration',
    },
    'local-url': {
      type: 'string',
      valueName: 'URL',
      description:
        'Register https://HOST:PORT instead of the Service (outside-the-cluster runs); removed on exit',
    },
    'log-level': {
      type: 'string',
      valueName: 'LEVEL',
      description: 'all, debug, info, warn, error or none',
      defaultText: 'info',
    },
  },
  async run(values, _positionals, io) {
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!isLogLevelFlag(level)) {
      io.err(
        `metallb webhook: --log-level must be one of all, debug, info, warn, error, none (got "${level}")`,
      );
      return 2;
    }
    const port = Number((values.port as string | undefined) ?? '9443');
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      io.err(`metallb webhook: --port must be a TCP port number (got "${String(values.port)}")`);
      return 2;
    }
    const logger = createLogger({ component: 'webhook', level });
    const kubeconfig = values.kubeconfig as string | undefined;
    const client = new RawClient(loadKubeConfig(kubeconfig ? { kubeconfig } : {}).kubeConfig);
    const shutdown = new Shutdown({ logger }).install();
    const localUrl = values['local-url'] as string | undefined;
    const certDir = values['cert-dir'] as string | undefined;
    await runWebhook({
      client,
      logger,
      shutdown,
      host: (values.host as string | undefined) ?? '0.0.0.0',
      port,
      ...(certDir ? { certDir } : {}),
      registration: {
        namespace: (values.namespace as string | undefined) ?? 'metallb-system',
        secretName: (values['cert-secret'] as string | undefined) ?? 'metallb-webhook-cert',
        serviceName: (values['service-name'] as string | undefined) ?? 'metallb-webhook-service',
        webhookConfigurationName:
          (values['webhook-configuration'] as string | undefined) ?? 'metallb-webhook-configuration',
        ...(localUrl ? { localUrl } : {}),
      },
    });
    logger.info('webhook ready');
    await new Promise<never>(() => undefined);
    return 0;
  },
};
