/**
 * Loaded into a component by a benchmark (NODE_OPTIONS=--import=<this file>, METALLB_BENCH_MEMORY_DIR=<dir>):
 * every 500 ms it writes the process's V8 heap figures, current and peak, to <dir>/<pid>.json, so the
 * benchmark can print heap next to RSS and say where a process's memory goes. Components themselves never
 * load it.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setInterval } from 'node:timers';

const dir = process.env.METALLB_BENCH_MEMORY_DIR;
if (dir) {
  const file = join(dir, `${process.pid}.json`);
  let peakHeapUsed = 0;
  let peakHeapTotal = 0;
  const write = () => {
    const usage = process.memoryUsage();
    peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed);
    peakHeapTotal = Math.max(peakHeapTotal, usage.heapTotal);
    // Written aside and renamed, so a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...usage, peakHeapUsed, peakHeapTotal }));
    renameSync(`${file}.tmp`, file);
  };
  setInterval(write, 500).unref();
  write();
}
