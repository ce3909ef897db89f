/**
 * `metallb webhook`: serves the validating admission webhooks and the BGPPeer conversion webhook over HTTPS,
 * with certificates from --cert-dir or managed (and published) by itself.
 */
import { componentCommand } from './component-command.js';
import * as flag from './flags.js';

export const webhookCommand = componentCommand({
  name: 'webhook',
  summary: 'Serve the validating admission webhooks and the BGPPeer conversion webhook.',
  usage: 'metallb webhook [--kubeconfig PATH] [--namespace NS] [--port N] [--cert-dir DIR | --local-url URL]',
  flags: {
    kubeconfig: flag.kubeconfig('Kubeconfig to use'),
    namespace: flag.namespace('The MetalLB namespace'),
    host: flag.text({ valueName: 'IP', description: 'Address to listen on', default: '0.0.0.0' }),
    port: flag.port({ valueName: 'N', description: 'HTTPS port', default: 9443 }),
    'cert-dir': flag.text({
      valueName: 'DIR',
      description:
        'Use tls.crt and tls.key from DIR (OLM, cert-manager); without it certificates are self-managed',
    }),
    'cert-secret': flag.text({
      valueName: 'NAME',
      description: 'Secret for self-managed certificates',
      default: 'metallb-webhook-cert',
    }),
    'service-name': flag.text({
      valueName: 'NAME',
      description: 'Service in front of the webhook',
      default: 'metallb-webhook-service',
    }),
    'webhook-configuration': flag.text({
      valueName: 'NAME',
      description: 'ValidatingWebhookConfiguration to publish the CA in',
      default: 'metallb-webhook-configuration',
    }),
    'local-url': flag.text({
      valueName: 'URL',
      description:
        'Register https://HOST:PORT instead of the Service (outside-the-cluster runs); removed on exit',
    }),
    'log-level': flag.logLevel(),
  },
  plan: (values) => ({
    host: {
      create: async (context) => {
        const { runWebhook } = await import('../webhook/run.js');
        const certDir = values['cert-dir'];
        const localUrl = values['local-url'];
        return {
          // The server and the certificate upkeep stop through the hooks runWebhook registers.
          start: async () => {
            await runWebhook({
              client: context.client,
              logger: context.log,
              shutdown: context.stopHooks,
              host: values.host,
              port: values.port,
              ...(certDir ? { certDir } : {}),
              registration: {
                namespace: values.namespace,
                secretName: values['cert-secret'],
                serviceName: values['service-name'],
                webhookConfigurationName: values['webhook-configuration'],
                ...(localUrl ? { localUrl } : {}),
              },
            });
          },
          stop: async () => undefined,
        };
      },
      ready: { message: 'webhook ready' },
    },
  }),
});
