/**
 * Runs `metallb <subcommand>` as a real process against the e2e control plane, the way a pod would run it,
 * with its output in a log file that failing tests print. Tests must stop what they start (afterEach/afterAll).
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../processes.js';
import { repoRoot } from '../local-cluster.js';
import { kubeconfigPath } from './cluster.js';
import { componentEnv } from '../component-env.js';

const logDir = mkdtempSync(join(tmpdir(), 'metallb-e2e-logs-'));
let counter = 0;

export interface ProductProcess {
  readonly process: ManagedProcess;
  readonly logFile: string;
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment, e.g. OPERATOR_NAMESPACE. */
  readonly env?: Readonly<Record<string, string>>;
  /** Prefix the command, e.g. ['ip', 'netns', 'exec', 'node-0'] to run it inside a network namespace. */
  readonly wrapper?: readonly string[];
  /** Pass --kubeconfig for the e2e cluster (default true). */
  readonly kubeconfig?: boolean;
  /**
   * Serve /metrics as in a cluster: HTTPS, bearer token, authorization. Default false: suites that scrape
   * metrics to check the product's behaviour get plain HTTP (--metrics-insecure); the secured endpoint has
   * suites of its own.
   */
  readonly secureMetrics?: boolean;
}

/** The subcommands that serve metrics, and so take --metrics-insecure. */
const servingMetrics: ReadonlySet<string> = new Set(['controller', 'speaker', 'operator']);

/** The built CLI entry: `make e2e` builds first, so dist/ is current. */
export function cliEntry(): string {
  const built = join(repoRoot, 'dist/src/cli/main.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`make build\` (make e2e does) first`);
  return built;
}

export function startProduct(
  subcommand: string,
  args: readonly string[],
  options: StartOptions = {},
): ProductProcess {
  counter += 1;
  const logFile = join(logDir, `${subcommand}-${counter}.log`);
  const command = [
    ...(options.wrapper ?? []),
    process.execPath,
    cliEntry(),
    subcommand,
    ...(options.kubeconfig === false ? [] : [`--kubeconfig=${kubeconfigPath()}`]),
    ...(servingMetrics.has(subcommand) && !options.secureMetrics ? ['--metrics-insecure'] : []),
    ...args,
  ];
  const child = ManagedProcess.start(
    `metallb ${subcommand}`,
    command[0] as string,
    command.slice(1),
    logFile,
    componentEnv(options.env),
  );
  return {
    process: child,
    logFile,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: () => child.stop(),
  };
}
