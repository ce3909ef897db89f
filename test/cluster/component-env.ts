/**
 * The environment a component process gets when a test, the demo or a benchmark starts it: this process's,
 * with NODE_OPTIONS as the deployed containers set it (src/operator/render/node-options.ts) rather than
 * inherited (Jest's own flags would otherwise reach the component), then the caller's additions.
 */
import { componentNodeOptions } from '../../src/operator/render/node-options.js';

export function componentEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: componentNodeOptions, ...extra };
}
