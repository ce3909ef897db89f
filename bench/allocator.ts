/**
 * Allocator throughput by pool size: the cost of an allocation must not grow with the pool.
 * Run: node --import tsx bench/allocator.ts [--seconds 1]
 *
 * Each row fills the pool with services first (5,000, or all but one address for small pools), then
 * repeatedly allocates one more service and releases it, and reports assign+release pairs per second.
 */
import { Allocator } from '../src/controller/allocator/allocator.js';
import type { AllocatorPool, AllocatorService } from '../src/controller/allocator/types.js';
import type { Family } from '../src/net/ip.js';
import { parsePoolEntry } from '../src/net/ip.js';

interface Scenario {
  readonly label: string;
  readonly addresses: readonly string[];
  readonly families: readonly Family[];
  readonly prefill: number;
  readonly avoidBuggyIPs?: boolean;
  /** Release every other prefilled service, leaving thousands of one-address holes. */
  readonly fragment?: boolean;
}

const PREFILL = 5000;

// No documentation range is a /16 or a /8; private ones stand in for those rows.
const scenarios: readonly Scenario[] = [
  { label: 'IPv4 /29', addresses: ['192.0.2.0/29'], families: [4], prefill: 7 },
  { label: 'IPv4 /16', addresses: ['172.16.0.0/16'], families: [4], prefill: PREFILL },
  { label: 'IPv4 /8', addresses: ['10.0.0.0/8'], families: [4], prefill: PREFILL },
  {
    label: 'IPv4 /8 avoidBuggyIPs',
    addresses: ['10.0.0.0/8'],
    families: [4],
    prefill: PREFILL,
    avoidBuggyIPs: true,
  },
  {
    label: 'IPv4 /16 fragmented',
    addresses: ['172.16.0.0/16'],
    families: [4],
    prefill: PREFILL,
    fragment: true,
  },
  { label: 'IPv6 /64', addresses: ['2001:db8::/64'], families: [6], prefill: PREFILL },
  { label: 'IPv6 /64, 50,000 held', addresses: ['2001:db8::/64'], families: [6], prefill: 50_000 },
  {
    label: 'dual-stack /16 + /64',
    addresses: ['172.16.0.0/16', '2001:db8::/64'],
    families: [4, 6],
    prefill: PREFILL,
  },
];

function makePool(scenario: Scenario): AllocatorPool {
  return {
    name: 'bench',
    ranges: scenario.addresses.map((entry) => {
      const parsed = parsePoolEntry(entry);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.range;
    }),
    autoAssign: true,
    avoidBuggyIPs: scenario.avoidBuggyIPs ?? false,
  };
}

function makeService(name: string, families: readonly Family[]): AllocatorService {
  return {
    namespace: 'bench',
    name,
    labels: {},
    namespaceLabels: {},
    annotations: {},
    type: 'LoadBalancer',
    ipFamilies: families,
    ipFamilyPolicy: families.length === 2 ? 'RequireDualStack' : 'SingleStack',
    ports: [{ protocol: 'TCP', port: 443 }],
    externalTrafficPolicy: 'Cluster',
    selector: { app: name },
  };
}

function mustAllocate(allocator: Allocator, service: AllocatorService): void {
  const result = allocator.allocate(service);
  if (!result.ok) throw new Error(result.reason);
}

interface Row {
  readonly scenario: string;
  readonly held: number;
  readonly fillPerSecond: number;
  readonly pairsPerSecond: number;
  readonly microsPerPair: number;
}

function run(scenario: Scenario, seconds: number): Row {
  const allocator = new Allocator([makePool(scenario)]);
  const fillStart = performance.now();
  for (let index = 0; index < scenario.prefill; index += 1) {
    mustAllocate(allocator, makeService(`fill-${index}`, scenario.families));
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  if (scenario.fragment) {
    for (let index = 0; index < scenario.prefill; index += 2)
      allocator.release({ namespace: 'bench', name: `fill-${index}` });
  }
  const held = allocator.stats().reduce((sum, stats) => sum + stats.inUse.ipv4 + stats.inUse.ipv6, 0);

  const probe = makeService('probe', scenario.families);
  const deadline = performance.now() + seconds * 1000;
  let pairs = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    // Batches keep the clock out of the measurement.
    for (let index = 0; index < 200; index += 1) {
      mustAllocate(allocator, probe);
      allocator.release(probe);
    }
    pairs += 200;
  }
  const elapsed = (performance.now() - start) / 1000;
  return {
    scenario: scenario.label,
    held,
    fillPerSecond: scenario.prefill / Math.max(fillSeconds, 1e-9),
    pairsPerSecond: pairs / elapsed,
    microsPerPair: (elapsed * 1e6) / pairs,
  };
}

function secondsArgument(): number {
  const index = process.argv.indexOf('--seconds');
  const value = index >= 0 ? Number(process.argv[index + 1]) : 1;
  return Number.isFinite(value) && value > 0 ? value : 1;
}

function main(): void {
  const seconds = secondsArgument();
  // Let the JIT compile the hot paths first, so the first row does not pay for it.
  run({ label: 'warm-up', addresses: ['198.51.100.0/24'], families: [4], prefill: 200 }, 0.3);
  const rows = scenarios.map((scenario) => run(scenario, seconds));
  const header = ['pool', 'addresses held', 'fill (allocs/s)', 'assign+release (ops/s)', 'µs/op'];
  const cells = rows.map((row) => [
    row.scenario,
    row.held.toLocaleString('en-US'),
    Math.round(row.fillPerSecond).toLocaleString('en-US'),
    Math.round(row.pairsPerSecond).toLocaleString('en-US'),
    row.microsPerPair.toFixed(2),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => (cell[column] ?? '').length)),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((value, column) =>
        column === 0 ? value.padEnd(widths[column] ?? 0) : value.padStart(widths[column] ?? 0),
      )
      .join('  ');
  console.log(`allocator benchmark, node ${process.version}, ${seconds}s per row`);
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const cell of cells) console.log(line(cell));
}

main();
