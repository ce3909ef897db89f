/**
 * The product's main job on the embedded default: a local control plane with three workers and a
 * control-plane node, the metallb-system namespace and every sample in config/samples applied, then what
 * the cluster shows for them. Stops everything at the end unless --keep is given.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { repoRoot } from './local-cluster.js';
import { startSupervised, stopSupervised } from './supervisor.js';

const run = promisify(execFile);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: join(repoRoot, '.local/demo') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'Usage: make demo [DEMO_FLAGS=--keep]\n\n  --keep            leave the cluster running (stop it with make demo-down)\n  --state-dir DIR   where the demo cluster keeps its kubeconfig (default .local/demo)',
    );
    return;
  }
  const stateDir = values['state-dir'] as string;
  await stopSupervised(stateDir);
  const step = (text: string) => console.log(`\n==> ${text}`);
  step(
    'starting a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)',
  );
  const state = await startSupervised({ stateDir, ...(values.keep ? {} : { parentPid: process.pid }) });
  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(join(state.binDir, 'kubectl'), [
      `--kubeconfig=${state.kubeconfig}`,
      ...args,
    ]);
    return stdout.trimEnd();
  };
  try {
    console.log(`API server at ${state.server}`);
    console.log(await kubectl('get', 'nodes', '-o', 'wide'));

    step('applying config/samples to the metallb-system namespace');
    await kubectl('create', 'namespace', 'metallb-system');
    console.log(await kubectl('apply', '-f', join(repoRoot, 'config/samples')));

    step('what the cluster now holds');
    console.log(
      await kubectl(
        'get',
        'metallb,ipaddresspools,l2advertisements,bgpadvertisements,bgppeers,bfdprofiles,communities',
        '-n',
        'metallb-system',
      ),
    );

    if (values.keep) {
      step('left running');
      console.log(
        `  export KUBECONFIG=${state.kubeconfig} PATH=${state.binDir}:$PATH\n  stop it with: make demo-down`,
      );
    }
  } finally {
    if (!values.keep) {
      step('stopping the local control plane');
      await stopSupervised(stateDir);
    }
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
