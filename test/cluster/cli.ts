/**
 * `make cluster-up | cluster-down | cluster-status`: a local control plane in the background for humans and
 * scripts, its kubeconfig in .local/cluster/kubeconfig and its binaries (kubectl too) in .local/cluster/bin.
 */
import { parseArgs } from 'node:util';
import { join, relative } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { repoRoot } from './local-cluster.js';
import { loadKubeConfig } from './kube-setup.js';
import { isAlive, readState, serve, startSupervised, stopSupervised } from './supervisor.js';

const defaultStateDir = join(repoRoot, '.local/cluster');

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'state-dir': { type: 'string', default: defaultStateDir },
      'parent-pid': { type: 'string' },
      audit: { type: 'boolean', default: false },
      address: { type: 'string' },
      'without-crds': { type: 'boolean', default: false },
      'service-proxy': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  const stateDir = values['state-dir'] as string;
  if (values.help || !command) {
    console.log(
      [
        'Usage: cluster-cli COMMAND [--state-dir DIR]',
        '',
        'Commands:',
        '  up      start a local control plane in the background (no-op when one runs)',
        '  down    stop it, with every process and temp folder it made',
        '  status  say whether it runs, where, and list its nodes',
        '  serve   run the cluster in the foreground until SIGTERM (what `up` starts)',
        '',
        'Flags:',
        `  --state-dir DIR   where the kubeconfig and state live (default ${relative(process.cwd(), defaultStateDir)})`,
        '  --parent-pid PID  serve: stop when this process is gone',
        '  --audit           serve/up: write an API audit log in the work folder',
        '  --address IP      serve/up: address the API server listens on (default 127.0.0.1)',
        '  --without-crds    serve: leave the CRDs to an installer (OLM)',
        "  --service-proxy   serve: route the API server's Service calls through a proxy (service-routes.json)",
      ].join('\n'),
    );
    return command ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      await serve({
        stateDir,
        audit: values.audit as boolean,
        ...(values['parent-pid'] ? { parentPid: Number(values['parent-pid']) } : {}),
        ...(values.address ? { address: values.address as string } : {}),
        crds: !(values['without-crds'] as boolean),
        serviceProxy: values['service-proxy'] as boolean,
      });
      return 0;
    case 'up': {
      const existing = readState(stateDir);
      if (existing && isAlive(existing.supervisorPid)) {
        console.log(`local cluster already running at ${existing.server}`);
      } else {
        if (existing) await stopSupervised(stateDir);
        const state = await startSupervised({
          stateDir,
          audit: values.audit as boolean,
          ...(values.address ? { address: values.address as string } : {}),
        });
        console.log(`local cluster running at ${state.server}`);
      }
      const kubeconfig = relative(process.cwd(), join(stateDir, 'kubeconfig'));
      const bin = relative(process.cwd(), join(repoRoot, '.local/cluster/bin'));
      console.log(
        `\nUse it with:\n  export KUBECONFIG=$PWD/${kubeconfig} PATH=$PWD/${bin}:$PATH\n  kubectl get nodes\nStop it with: make cluster-down`,
      );
      return 0;
    }
    case 'down':
      console.log(
        (await stopSupervised(stateDir)) ? 'local cluster stopped' : 'no local cluster was running',
      );
      return 0;
    case 'status': {
      const state = readState(stateDir);
      if (!state || !isAlive(state.supervisorPid)) {
        console.log('local cluster: not running');
        return 1;
      }
      console.log(`local cluster: running at ${state.server} (supervisor pid ${state.supervisorPid})`);
      console.log(`kubeconfig: ${state.kubeconfig}`);
      const nodes = await loadKubeConfig(state.kubeconfig).makeApiClient(CoreV1Api).listNode();
      for (const node of nodes.items) {
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        const roles = Object.keys(node.metadata?.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.slice('node-role.kubernetes.io/'.length));
        console.log(`  node ${node.metadata?.name}: ${ready ? 'Ready' : 'NotReady'} ${roles.join(',')}`);
      }
      return 0;
    }
    default:
      console.error(`unknown command ${command}; see --help`);
      return 2;
  }
}

main().then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'serve') process.exit(code);
  },
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
