/**
 * The input every offline command takes the same way: files or folders with -f (or as positionals), and the
 * namespace MetalLB runs in, given to namespaced objects that have none.
 */
import type { OptionSpec } from './command.js';
import { defaultNamespace } from './flags.js';

/** The -f and -n options; `what` says what the files may hold, `unnamespaced` which objects get -n. */
export function manifestInputOptions(what: string, unnamespaced: string): Record<string, OptionSpec> {
  return {
    filename: {
      type: 'string',
      short: 'f',
      multiple: true,
      valueName: 'PATH',
      description: `A YAML or JSON file, or a folder searched recursively${what}`,
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NAMESPACE',
      defaultText: defaultNamespace,
      description: `The namespace MetalLB runs in; ${unnamespaced} without a namespace are taken to be in it`,
    },
  };
}

export interface ManifestInput {
  readonly paths: string[];
  readonly namespace: string;
}

export function manifestInput(
  values: Readonly<Record<string, unknown>>,
  positionals: readonly string[],
): ManifestInput {
  return {
    paths: [...((values.filename as string[] | undefined) ?? []), ...positionals],
    namespace: typeof values.namespace === 'string' && values.namespace ? values.namespace : defaultNamespace,
  };
}
