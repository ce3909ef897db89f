/**
 * The Node.js flags every component runs with, through NODE_OPTIONS in each container: V8's heap layout is
 * fixed when the process starts, so code cannot set it later.
 *
 * --max-semi-space-size=1: V8 lets the young generation grow to 32 MiB (two 16 MiB semi-spaces) on 64-bit
 * when a process allocates quickly, as every component does while its informers list, and keeps it. These
 * processes hold little short-lived data, so a 2 MiB young generation costs more frequent (cheap) scavenges
 * and saves about 10 to 20 MiB of RSS per process (bench/memory.ts prints heap and RSS with and without it).
 *
 * The harnesses that run components as processes (test/cluster, bench/) set the same, so they measure what
 * is deployed.
 */
import type { V1EnvVar } from '@kubernetes/client-node';

export const componentNodeOptions = '--max-semi-space-size=1';

export const nodeOptionsEnv: V1EnvVar = { name: 'NODE_OPTIONS', value: componentNodeOptions };
