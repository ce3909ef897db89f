/**
 * The layer-2 announcer on its own, for test/e2e/l2-responder.e2e.ts: run inside a node's network namespace,
 * it reads commands from stdin as JSON lines and writes what happens to stdout as JSON lines.
 *
 *   in:  {"claims": [{"ip": "198.51.100.100", "interfaces": [], "probe": true}]}   → reconcile, then {"event":"reconciled"}
 *        {"metrics": true}                                                          → {"event":"metrics","text":"..."}
 *   out: {"event":"ready"} once, {"event":"state","ip":...,"state":{...}} on every state change
 *
 * stdin closing (or SIGTERM) closes the announcer and exits.
 */
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/runtime/logging.js';
import { createL2Announcer, type L2Claim } from '../../../src/speaker/l2/index.js';

const registry = new Registry();
const logger = createLogger({ component: 'l2-responder', level: 'info', destination: process.stderr });
const announcer = createL2Announcer({ logger, registry });
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
announcer.onStateChange((ip, state) => print({ event: 'state', ip, state }));

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await announcer.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void (async () => {
    const command = JSON.parse(line) as { claims?: L2Claim[]; metrics?: boolean };
    if (command.claims) {
      announcer.reconcile(command.claims);
      print({ event: 'reconciled' });
    }
    if (command.metrics) print({ event: 'metrics', text: await registry.metrics() });
  })().catch((err: unknown) => print({ event: 'error', message: String(err) }));
});
lines.on('close', () => void shutdown());
print({ event: 'ready' });
