// Starts one local control plane for the e2e run, supervised so that it dies with this process even if
// Jest crashes. Suites find it through METALLB_E2E_* variables. Plain JS because Jest loads global setup
// natively; the TypeScript launcher is loaded through tsx.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default async function setup() {
  // Suites that build their own lab and talk to no API server (l2-responder.e2e.ts) run without one:
  // METALLB_E2E_NO_CLUSTER=1 skips the control plane, so they work before its binaries are built.
  if (process.env.METALLB_E2E_NO_CLUSTER === '1') return;
  const { startSupervised } = await tsImport('../cluster/supervisor.ts', import.meta.url);
  const stateDir = mkdtempSync(join(tmpdir(), 'metallb-e2e-'));
  const started = Date.now();
  const state = await startSupervised({ stateDir, parentPid: process.pid, audit: true });
  process.env.METALLB_E2E_STATE_DIR = stateDir;
  process.env.METALLB_E2E_KUBECONFIG = state.kubeconfig;
  process.env.METALLB_E2E_BIN_DIR = state.binDir;
  process.env.METALLB_E2E_WORK_DIR = state.workDir;
  process.stdout.write(`\nlocal control plane ready at ${state.server} in ${Date.now() - started} ms\n`);
}
