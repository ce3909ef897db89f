/**
 * A long-running `metallb` subcommand as a declaration: its typed flags, and a plan that turns their values
 * into what the component host runs (servers, Lease, the component itself). Flag errors and a plan's usage
 * errors exit 2 before anything touches a cluster; everything after is the host's (runtime/component-host).
 */
import type { LevelWithSilent } from 'pino';
import { runComponent, type Component, type ComponentHostOptions } from '../runtime/component-host.js';
import { exitUsage, type Command } from './command.js';
import { readFlags, type Flag, type FlagSet, type FlagValues } from './flags.js';

/** Every component takes these two. */
export interface ComponentFlags extends FlagSet {
  readonly kubeconfig: Flag<string | undefined>;
  readonly 'log-level': Flag<LevelWithSilent>;
}

export type HostPlan<C extends Component> = Omit<
  ComponentHostOptions<C>,
  'name' | 'reportError' | 'kubeconfig' | 'logLevel'
>;

/** A plan, or what is wrong: `usage` lines exit 2 (the flags), `failure` lines exit 1 (the environment). */
export type Planned<C extends Component> =
  | { readonly host: HostPlan<C> }
  | { readonly usage: readonly string[] }
  | { readonly failure: readonly string[] };

export interface ComponentCommandSpec<F extends ComponentFlags, C extends Component> {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: F;
  readonly plan: (values: FlagValues<F>) => Planned<C>;
}

export function componentCommand<F extends ComponentFlags, C extends Component>(
  spec: ComponentCommandSpec<F, C>,
): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    options: spec.flags,
    async run(raw, positionals, io) {
      const report = (lines: readonly string[]): void => {
        for (const line of lines) io.err(`${spec.name}: ${line}`);
      };
      if (positionals.length > 0) {
        report([`unexpected argument "${positionals[0] as string}"; see metallb ${spec.name} --help`]);
        return exitUsage;
      }
      const flags = readFlags(spec.flags, raw);
      if (!flags.ok) {
        report(flags.errors);
        return exitUsage;
      }
      const planned = spec.plan(flags.values);
      if ('usage' in planned) {
        report(planned.usage);
        return exitUsage;
      }
      if ('failure' in planned) {
        report(planned.failure);
        return 1;
      }
      const common = flags.values as FlagValues<ComponentFlags>;
      return runComponent({
        ...planned.host,
        name: spec.name,
        kubeconfig: common.kubeconfig,
        logLevel: common['log-level'],
        reportError: (line) => io.err(line),
      });
    },
  };
}
