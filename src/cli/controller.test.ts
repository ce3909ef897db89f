import { describe, expect, it } from '@jest/globals';
import { helpText, parseCommandArgs } from './command.js';
import { container, controllerPod, metalLB } from '../../test/support/operator.js';
import { controllerCommand } from './controller.js';

async function run(argv: string[]): Promise<{ code: number; err: string[] }> {
  const parsed = parseCommandArgs(controllerCommand, argv);
  if (!parsed.ok) throw new Error(parsed.error);
  const err: string[] = [];
  const code = await controllerCommand.run(parsed.values, parsed.positionals, {
    out: () => undefined,
    err: (line) => err.push(line),
  });
  return { code, err };
}

describe('metallb controller', () => {
  it('describes every flag in --help', () => {
    const help = helpText(controllerCommand);
    for (const flag of [
      '--kubeconfig',
      '--namespace',
      '--lb-class',
      '--log-level',
      '--port',
      '--health-probe-port',
      '--leader-elect',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain('default: metallb-system');
    expect(help).toContain('default: 9120');
    expect(help).toContain('default: 17472');
  });

  it('accepts every argument the operator gives the controller container', () => {
    const args =
      container(controllerPod(metalLB({ loadBalancerClass: 'metallb', logLevel: 'debug' })), 'controller')
        .args ?? [];
    expect(args[0]).toBe('controller');
    const parsed = parseCommandArgs(controllerCommand, args.slice(1));
    expect(parsed).toMatchObject({
      ok: true,
      values: {
        namespace: 'metallb-system',
        port: '9120',
        'health-probe-port': '17472',
        'log-level': 'debug',
        'lb-class': 'metallb',
      },
    });
  });

  it('refuses values it cannot use, saying what would be right', async () => {
    expect(await run(['--port', '70000'])).toEqual({
      code: 2,
      err: ['controller: --port "70000" is not a port: give a number from 0 to 65535 (0 picks a free port)'],
    });
    expect((await run(['--leader-elect', 'yes'])).err).toEqual([
      'controller: --leader-elect "yes" must be true or false',
    ]);
    expect((await run(['--log-level', 'loud'])).code).toBe(2);
    expect((await run(['--lb-class', ''])).code).toBe(2);
  });
});
