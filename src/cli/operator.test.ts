import { describe, expect, it } from '@jest/globals';
import { helpText } from './command.js';
import { operatorCommand } from './operator.js';

async function run(
  values: Record<string, string | boolean | string[] | undefined>,
  positionals: string[] = [],
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await operatorCommand.run(values, positionals, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out, err };
}

describe('metallb operator', () => {
  it('describes every flag with its default in --help', () => {
    const help = helpText(operatorCommand);
    for (const flag of [
      '--kubeconfig',
      '--namespace',
      '--log-level',
      '--health-probe-bind-address',
      '--metrics-bind-address',
      '--leader-elect',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(/\$OPERATOR_NAMESPACE, then metallb-system/);
    expect(help).toMatch(/Lease metallb-operator/);
  });

  it('refuses flags with values it cannot use before touching a cluster', async () => {
    expect(await run({ 'leader-elect': 'maybe' })).toMatchObject({
      code: 2,
      err: ['operator: --leader-elect "maybe" must be true or false'],
    });
    expect((await run({ 'log-level': 'loud' })).code).toBe(2);
    expect((await run({ 'health-probe-bind-address': 'nowhere' })).err[0]).toMatch(
      /--health-probe-bind-address/,
    );
    expect((await run({}, ['extra'])).code).toBe(2);
  });

  it('reports an unusable namespace as a problem with the variable it came from', async () => {
    const result = await run({ namespace: 'Not_A_Namespace' });
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toMatch(/OPERATOR_NAMESPACE: must be a namespace name/);
  });

  it('says where it looked for credentials when there are none', async () => {
    const result = await run({ kubeconfig: '/nonexistent/kubeconfig' });
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toMatch(/\/nonexistent\/kubeconfig/);
  });
});
