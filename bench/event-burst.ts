/**
 * The controller's event recorder in a 5,000-Service burst, writing through the real API client over HTTP to
 * a stand-in API server on 127.0.0.1 that answers each write after a latency (or never, for an outage).
 * Run: node --expose-gc --import tsx bench/event-burst.ts [--services 5000] [--latency-ms 5]
 *
 * Each scenario records one IPAllocated Event per Service (as the controller does when it assigns an IP)
 * plus a flapping tenth of them that fail 20 times each (aggregated into series), then stops the recorder as
 * SIGTERM does (5 s deadline). It prints what reached the server, what was dropped and why, and the RSS.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { ApiEventSink, EventRecorder } from '../src/runtime/events.js';
import { RawClient } from '../src/runtime/raw-client.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '5000' },
    'latency-ms': { type: 'string', default: '5' },
  },
});
const services = Number(values.services);
const latencyMs = Number(values['latency-ms']);

interface Scenario {
  readonly label: string;
  /** undefined: the server never answers (an API outage). */
  readonly latencyMs: number | undefined;
}

const scenarios: readonly Scenario[] = [
  { label: `API answering in ${latencyMs} ms`, latencyMs },
  { label: 'API not answering (outage)', latencyMs: undefined },
];

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
}

async function run(scenario: Scenario): Promise<void> {
  let creates = 0;
  let patches = 0;
  const stuck = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') creates++;
      if (req.method === 'PATCH') patches++;
      if (scenario.latencyMs === undefined) {
        stuck.add(res);
        return;
      }
      setTimeout(
        () => res.writeHead(201, { 'Content-Type': 'application/json' }).end('{}'),
        scenario.latencyMs,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  kubeConfig.loadFromClusterAndUser(
    { name: 'bench', server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
    { name: 'bench' },
  );
  const client = new RawClient(kubeConfig);
  const registry = new Registry();
  const recorder = new EventRecorder({
    sink: new ApiEventSink(client),
    reportingController: 'metallb.io/controller',
    reportingInstance: 'bench',
    registry,
    seriesPatchIntervalMs: 1_000,
  });
  const service = (i: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'burst', uid: `uid-${i}` },
  });

  const before = rssMiB();
  let peak = before;
  const started = Date.now();
  let recorded = 0;
  // 500 Services per 100 ms: 35 times the rate the controller assigns IPs at (142/s), so the bounds hold it.
  for (let i = 0; i < services; i++) {
    recorder.normal(service(i), 'IPAllocated', 'Allocate', `Assigned IP ["198.51.100.${i % 256}"]`);
    recorded++;
    if (i % 10 === 0)
      for (let r = 0; r < 20; r++) {
        recorder.warning(service(i), 'AllocationFailed', 'Allocate', `no address (attempt ${r})`);
        recorded++;
      }
    if (i % 500 === 499) {
      peak = Math.max(peak, process.memoryUsage().rss / 2 ** 20);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const stopStarted = Date.now();
  await recorder.stop(5_000);
  const stopMs = Date.now() - stopStarted;
  peak = Math.max(peak, process.memoryUsage().rss / 2 ** 20);
  const after = rssMiB();
  const dropped = recorder.stats().dropped;

  console.log(`\n${scenario.label}`);
  console.log(
    `  recorded occurrences     ${recorded} (${services} Services, ${services / 10} of them flapping x20)`,
  );
  console.log(`  Events created           ${creates}`);
  console.log(`  series patches           ${patches}`);
  console.log(
    `  dropped                  queue_full ${dropped.queue_full}, rate_limited ${dropped.rate_limited}, ` +
      `write_failed ${dropped.write_failed}, shutdown ${dropped.shutdown}`,
  );
  console.log(`  burst + stop             ${Date.now() - started} ms (stop flush ${stopMs} ms)`);
  console.log(
    `  RSS MiB                  before ${before.toFixed(1)}, peak ${peak.toFixed(1)}, after ${after.toFixed(1)}`,
  );

  for (const res of stuck) res.destroy();
  client.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

console.log(
  `event burst: ${services} Services, node ${process.version}${'gc' in globalThis ? ', gc exposed' : ''}`,
);
for (const scenario of scenarios) await run(scenario);
