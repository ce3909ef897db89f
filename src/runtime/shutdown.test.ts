import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { Shutdown } from './shutdown.js';

function setup(timeoutMs = 1000): { shutdown: Shutdown; signals: EventEmitter; exits: number[] } {
  const signals = new EventEmitter();
  const exits: number[] = [];
  const shutdown = new Shutdown({ signals, timeoutMs, exit: (code) => void exits.push(code) }).install();
  return { shutdown, signals, exits };
}

describe('Shutdown', () => {
  it('runs stop hooks in reverse order on SIGTERM, then exits 0', async () => {
    const { shutdown, signals, exits } = setup();
    const order: string[] = [];
    shutdown
      .register('http server', () => void order.push('http server'))
      .register('lease', async () => void order.push('lease'))
      .register('controllers', async () => void order.push('controllers'))
      .register('informers', () => void order.push('informers'));
    signals.emit('SIGTERM', 'SIGTERM');
    expect(shutdown.signal.aborted).toBe(true);
    expect(await shutdown.shutdown('again')).toBe(0);
    expect(order).toEqual(['informers', 'controllers', 'lease', 'http server']);
    expect(exits).toEqual([0]);
  });

  it('keeps stopping the rest when a hook fails, and exits 1', async () => {
    const { shutdown, signals, exits } = setup();
    const order: string[] = [];
    shutdown
      .register('last', () => void order.push('last'))
      .register('broken', () => {
        throw new Error('boom');
      });
    signals.emit('SIGINT', 'SIGINT');
    expect(await shutdown.shutdown('wait')).toBe(1);
    expect(order).toEqual(['last']);
    expect(exits).toEqual([1]);
  });

  it('gives up on hooks that outlive the timeout', async () => {
    const { shutdown, exits } = setup(20);
    shutdown.register('hangs', () => new Promise<void>(() => {}));
    expect(await shutdown.shutdown('test')).toBe(1);
    expect(exits).toEqual([1]);
  });

  it('exits at once on a second signal', async () => {
    const { shutdown, signals, exits } = setup();
    let release!: () => void;
    shutdown.register('slow', () => new Promise<void>((resolve) => (release = resolve)));
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([1]);
    release();
    await shutdown.shutdown('done');
  });

  it('stops listening to signals once done', async () => {
    const { shutdown, signals } = setup();
    await shutdown.shutdown('test');
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});
