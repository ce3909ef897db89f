import { rmSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

export default async function teardown() {
  const stateDir = process.env.METALLB_E2E_STATE_DIR;
  if (!stateDir) return;
  const { stopSupervised } = await tsImport('../cluster/supervisor.ts', import.meta.url);
  await stopSupervised(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
}
