import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frrConfigCommand } from './frr-config.js';
import { findVtysh, vtyshDryRun } from '../../test/support/frr.js';
import { requiring } from '../../test/support/prerequisites.js';

const scratch = mkdtempSync(join(tmpdir(), 'frr-config-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let fileCount = 0;
function yamlFile(text: string): string {
  fileCount += 1;
  const path = join(scratch, `input-${fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string[];
}

async function run(values: Record<string, string | boolean | string[] | undefined>): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await frrConfigCommand.run(values, [], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err };
}

const workerNode = `
apiVersion: v1
kind: Node
metadata:
  name: worker-0
  labels:
    node-role.kubernetes.io/worker: ""
`;

/** A Service the controller gave 192.0.2.10 from the sample pool "production", with a ready endpoint. */
const webService = `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    metallb.io/ip-allocated-from-pool: production
spec:
  type: LoadBalancer
  ports: [{ port: 443 }]
status:
  loadBalancer:
    ingress: [{ ip: 192.0.2.10 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-x1
  namespace: shop
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
  - addresses: [203.0.113.201]
    nodeName: worker-3
    conditions: { ready: true }
`;

describe('metallb frr-config', () => {
  it('prints the frr.conf for config/samples on a worker node', async () => {
    const path = yamlFile(`${workerNode}---${webService}`);
    const result = await run({ filename: ['config/samples', path], node: 'worker-0' });
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('\nhostname worker-0\n');
    expect(result.out).toContain(' neighbor 192.0.2.254 remote-as 64513\n');
    expect(result.out).toContain(' neighbor 192.0.2.254 timers 30 90\n');
    expect(result.out).toContain(' neighbor 192.0.2.254 bfd profile fast\n');
    expect(result.out).toContain('  network 192.0.2.0/24\n  network 192.0.2.10/32\n');
    expect(result.out).toContain(' set large-community 64512:1:100 additive\n');
    expect(result.out).toContain(' set community no-advertise additive\n');
    // eBGP: the advertisement's localPref 100 does not reach the router.
    expect(result.out).not.toContain('local-preference');
  });

  // Without FRR this fails with the reason (METALLB_TEST_SKIP_PRIVILEGED=1 skips it, listed in the summary).
  requiring('frr').it('prints an frr.conf for config/samples that FRR accepts', async () => {
    const path = yamlFile(`${workerNode}---${webService}`);
    const result = await run({ filename: ['config/samples', path], node: 'worker-0' });
    const rendered = join(scratch, 'samples.frr.conf');
    writeFileSync(rendered, `${result.out}\n`);
    expect(vtyshDryRun(findVtysh() as string, rendered)).toEqual({ ok: true, output: '' });
  });

  it('renders for a node missing from the files as a node without labels, and says so', async () => {
    const result = await run({ filename: ['config/samples'], node: 'worker-9' });
    expect(result.code).toBe(0);
    expect(result.err).toEqual([
      'note: Node worker-9 is not in the files; rendering for a node without labels',
    ]);
    // The sample peer selects workers only, so this node has no BGP session at all.
    expect(result.out).not.toContain('router bgp');
  });

  it('explains on stderr why a Service is not announced, and is silent with --quiet', async () => {
    const local = webService.replace(
      'type: LoadBalancer',
      'type: LoadBalancer\n  externalTrafficPolicy: Local',
    );
    const path = yamlFile(`${workerNode}---${local}`);
    const result = await run({ filename: ['config/samples', path], node: 'worker-0' });
    expect(result.code).toBe(0);
    expect(result.err).toEqual([
      'note: Service/shop/web: not announced (noLocalEndpoints): externalTrafficPolicy is Local and no ready endpoint runs on node worker-0',
    ]);
    expect(result.out).not.toContain('network 192.0.2.10/32');
    expect((await run({ filename: ['config/samples', path], node: 'worker-0', quiet: true })).err).toEqual(
      [],
    );
  });

  it('leaves Services of another loadBalancerClass alone unless asked for that class', async () => {
    const classed = webService.replace(
      'type: LoadBalancer',
      'type: LoadBalancer\n  loadBalancerClass: example.com/other',
    );
    const path = yamlFile(`${workerNode}---${classed}`);
    const byDefault = await run({ filename: ['config/samples', path], node: 'worker-0' });
    expect(byDefault.out).not.toContain('network 192.0.2.10/32');
    const asked = await run({
      filename: ['config/samples', path],
      node: 'worker-0',
      'load-balancer-class': 'example.com/other',
    });
    expect(asked.out).toContain('network 192.0.2.10/32');
  });

  it('prints a password from a Secret only inside the frr.conf', async () => {
    const path = yamlFile(`
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: secured }
spec:
  myASN: 64512
  peerASN: 64513
  peerAddress: 192.0.2.253
  passwordSecret: { name: bgp-auth }
---
apiVersion: v1
kind: Secret
metadata: { name: bgp-auth }
type: kubernetes.io/basic-auth
stringData: { password: Hunter2-but-longer }
`);
    const result = await run({ filename: [path], node: 'worker-0' });
    expect(result.code).toBe(0);
    expect(result.out).toContain(' neighbor 192.0.2.253 password Hunter2-but-longer\n');
    expect(result.err.join('\n')).not.toContain('Hunter2');
  });

  it('reports validation problems one per line on stderr and exits 1', async () => {
    const path = yamlFile(`
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: broken }
spec:
  myASN: 64512
  peerASN: 64513
  bfdProfile: missing
  peerAddress: 192.0.2.253
`);
    const result = await run({ filename: [path], node: 'worker-0' });
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toMatch(/^BGPPeer\/metallb-system\/broken: spec\.bfdProfile: /);
  });

  it('exits 2 on an unreadable file, a file that is not YAML, or a missing --node', async () => {
    const missing = await run({ filename: [join(scratch, 'nope.yaml')], node: 'worker-0' });
    expect(missing.code).toBe(2);
    expect(missing.err[0]).toMatch(/^unreadable: /);
    const garbled = await run({ filename: [yamlFile('kind: [unclosed\n')], node: 'worker-0' });
    expect(garbled.code).toBe(2);
    const noNode = await run({ filename: ['config/samples'] });
    expect(noNode).toEqual({
      code: 2,
      out: '',
      err: ['frr-config: give the node to render for with --node NAME'],
    });
  });
});
