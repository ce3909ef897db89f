import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, loggerFor, parseLogLevel, redactSecrets, type LoggerOptions } from './logging.js';
import { ApiError } from './raw-client.js';

function capture(options: Partial<LoggerOptions> = {}): {
  lines: () => Record<string, unknown>[];
  raw: () => string;
  log: ReturnType<typeof createLogger>;
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const log = createLogger({ component: 'speaker', destination, ...options });
  return {
    log,
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const secret = 'hunter2-bgp-md5';

describe('logging', () => {
  it('writes JSON lines with component, object, level and time', () => {
    const { log, lines } = capture();
    loggerFor(log, { metadata: { namespace: 'shop', name: 'web' } }).info({ ip: '192.0.2.10' }, 'announcing');
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 'info',
        component: 'speaker',
        object: 'shop/web',
        ip: '192.0.2.10',
        msg: 'announcing',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
    ]);
  });

  it('puts errors under err with their message and stack', () => {
    const { log, lines } = capture();
    log.error({ err: new Error('frr reload failed') }, 'reload');
    expect(lines()[0]).toMatchObject({
      err: { type: 'Error', message: 'frr reload failed', stack: expect.any(String) },
    });
  });

  it('never writes a password, wherever it hides', () => {
    const { log, raw } = capture({ level: 'all' });
    const peer = {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'router', namespace: 'metallb-system' },
      spec: { peerAddress: '192.0.2.1', peerASN: 64512, password: secret },
    };
    log.info({ password: secret }, 'top level');
    log.info({ peer }, 'nested object');
    log.debug({ peers: [peer, { deeper: { still: { Password: secret } } }] }, 'in arrays, any case');
    log.warn({ data: { 'bgp-password': Buffer.from(secret).toString('base64') } }, 'secret data');
    log.info({ secret: { kind: 'Secret', data: { password: secret } } }, 'a Secret');
    log.info({ reports: [{ kind: 'Secret', data: { key: secret } }] }, 'a Secret deep down');
    log.info({ stringData: { password: secret } }, 'stringData');
    log.error(
      {
        err: Object.assign(new ApiError(422, 'Invalid', 'rejected', { spec: { password: secret } }), {
          password: secret,
        }),
      },
      'error fields',
    );
    log.child({ password: secret }).info('bindings');
    log.child({ peer: { password: secret } }).info('nested bindings');
    const written = raw();
    expect(written).not.toContain(secret);
    expect(written).not.toContain(Buffer.from(secret).toString('base64'));
    expect(written).toContain('[REDACTED]');
    expect(written).toContain('192.0.2.1');
  });

  it('does not change the objects it logs', () => {
    const { log } = capture();
    const spec = { password: secret };
    log.info({ spec }, 'x');
    expect(spec.password).toBe(secret);
  });

  it('keeps non-secret data of nested objects such as a ConfigMap in a report', () => {
    expect(redactSecrets({ report: { configMap: { kind: 'ConfigMap', data: { a: 'b' } } } })).toEqual({
      report: { configMap: { kind: 'ConfigMap', data: { a: 'b' } } },
    });
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic.self = cyclic;
    expect(redactSecrets(cyclic)).toEqual({ name: 'x', self: '[Circular]' });
  });

  it('maps --log-level values to pino levels', () => {
    expect(['all', 'debug', 'info', 'warn', 'error', 'none'].map(parseLogLevel)).toEqual([
      'trace',
      'debug',
      'info',
      'warn',
      'error',
      'silent',
    ]);
    expect(() => parseLogLevel('verbose')).toThrow('use one of all, debug, info, warn, error, none');
  });

  it('filters by level: none silences, all includes trace', () => {
    const quiet = capture({ level: 'none' });
    quiet.log.error('dropped');
    expect(quiet.raw()).toBe('');
    const chatty = capture({ level: 'all' });
    chatty.log.trace('kept');
    expect(chatty.lines()[0]).toMatchObject({ level: 'trace', msg: 'kept' });
    const normal = capture({ level: 'info' });
    normal.log.debug('dropped');
    expect(normal.raw()).toBe('');
  });
});
