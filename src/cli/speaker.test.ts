import { describe, expect, it } from '@jest/globals';
import { helpText, parseCommandArgs } from './command.js';
import { speakerCommand } from './speaker.js';
import { container, metalLB, speakerPod } from '../../test/support/operator.js';

async function runWith(args: string[]): Promise<{ code: number; err: string[] }> {
  const parsed = parseCommandArgs(speakerCommand, args);
  if (!parsed.ok) throw new Error(parsed.error);
  const err: string[] = [];
  const code = await speakerCommand.run(parsed.values, parsed.positionals, {
    out: () => undefined,
    err: (line) => err.push(line),
  });
  return { code, err };
}

describe('metallb speaker flags', () => {
  it('accepts every flag the operator passes to the speaker container', () => {
    const pod = speakerPod(metalLB({ loadBalancerClass: 'example.com/lb', logLevel: 'debug' }));
    const [subcommand, ...args] = container(pod, 'speaker').args ?? [];
    expect(subcommand).toBe('speaker');
    const parsed = parseCommandArgs(speakerCommand, args);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.values['node-name']).toBe('$(METALLB_NODE_NAME)');
      expect(parsed.values['lb-class']).toBe('example.com/lb');
    }
  });

  it('accepts the flags the e2e suite starts speakers with', () => {
    const parsed = parseCommandArgs(speakerCommand, [
      '--kubeconfig=/tmp/kubeconfig',
      '--node',
      'node-1',
      '--frr-mode',
      'local',
      '--frr-pathspace',
      'node-1',
      '--port',
      '0',
      '--health-probe-port',
      '0',
    ]);
    expect(parsed.ok).toBe(true);
  });

  it('describes every flag in --help', () => {
    const help = helpText(speakerCommand);
    for (const flag of Object.keys(speakerCommand.options)) expect(help).toContain(`--${flag}`);
  });

  it('refuses unusable values with exit code 2 before touching the cluster', async () => {
    const previous = process.env.METALLB_NODE_NAME;
    delete process.env.METALLB_NODE_NAME;
    try {
      expect((await runWith([])).err.join()).toContain('--node NAME');
    } finally {
      if (previous !== undefined) process.env.METALLB_NODE_NAME = previous;
    }
    for (const [args, message] of [
      [['--node', 'a', '--node-name', 'b'], 'differ'],
      [['--node', 'a', '--frr-mode', 'sidecar'], 'must be local or reloader'],
      [['--node', 'a', '--port', '70000'], 'is not a port'],
      [['--node', 'a', '--frr-reload-interval', '5'], 'is not a duration'],
      [['--node', 'a', '--frr-pathspace', '../etc'], 'plain name'],
      [['--node', 'a', '--log-level', 'loud'], 'invalid log level'],
      [['--node', 'a', '--lb-class', ''], '--lb-class is empty'],
    ] as const) {
      const { code, err } = await runWith([...args]);
      expect(code).toBe(2);
      expect(err.join('\n')).toContain(message);
    }
  });
});
