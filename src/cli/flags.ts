/**
 * Typed command-line flags. Each flag declares how its text becomes a value (a port, a duration, a bind
 * address, a log level, …) and its default, so a command receives checked values of the right type and its
 * --help shows the default the parser applies. Messages name the flag and the value, and say what would be
 * right.
 */
import type { LevelWithSilent } from 'pino';
import { parseBindAddress } from '../runtime/http-server.js';
import { logLevelFlags, parseLogLevel } from '../runtime/logging.js';
import type { OptionSpec } from './command.js';

export type RawValue = string | boolean | string[] | undefined;
export type RawValues = Readonly<Record<string, RawValue>>;

export type FlagResult<T> = { readonly value: T } | { readonly error: string };

/** A flag as --help describes it, plus how its value is read. */
export interface Flag<T> extends OptionSpec {
  /** `raw` is undefined when the flag is absent; `name` is the flag without dashes. */
  readonly read: (raw: RawValue, name: string) => FlagResult<T>;
}

export type FlagSet = Readonly<Record<string, Flag<unknown>>>;

export type FlagValues<F extends FlagSet> = {
  readonly [K in keyof F]: F[K] extends Flag<infer T> ? T : never;
};

interface Described {
  readonly description: string;
  readonly valueName?: string;
  readonly short?: string;
  /** Overrides the default shown in --help (when the default comes from the environment, say). */
  readonly defaultText?: string;
}

function stringFlag<T>(
  described: Described,
  defaultText: string | undefined,
  read: Flag<T>['read'],
): Flag<T> {
  const shownDefault = described.defaultText ?? defaultText;
  return {
    type: 'string',
    description: described.description,
    ...(described.valueName ? { valueName: described.valueName } : {}),
    ...(described.short ? { short: described.short } : {}),
    ...(shownDefault !== undefined ? { defaultText: shownDefault } : {}),
    read,
  };
}

/** The text given, or undefined when absent (or empty: an empty value means "not set", as in a pod spec). */
function textOf(raw: RawValue): string | undefined {
  return typeof raw === 'string' && raw !== '' ? raw : undefined;
}

/** Free text; without a default, absent is undefined. */
export function text(described: Described & { readonly default: string }): Flag<string>;
export function text(described: Described): Flag<string | undefined>;
export function text(described: Described & { readonly default?: string }): Flag<string | undefined> {
  return stringFlag(described, described.default, (raw) => ({ value: textOf(raw) ?? described.default }));
}

/** Text that must not be empty when given (an empty class would silently match nothing). */
export function nonEmptyText(
  described: Described & { readonly whenEmpty: string },
): Flag<string | undefined> {
  return stringFlag(described, undefined, (raw, name) =>
    raw === '' ? { error: `--${name} is empty; ${described.whenEmpty}` } : { value: textOf(raw) },
  );
}

/** A presence flag: --flag means true. */
export function presence(described: Described): Flag<boolean> {
  return { type: 'boolean', description: described.description, read: (raw) => ({ value: raw === true }) };
}

/** A TCP port, 0 to 65535 (0 picks a free one). */
export function port(described: Described & { readonly default: number }): Flag<number> {
  return stringFlag<number>(described, String(described.default), (raw, name) => {
    const value = textOf(raw);
    if (value === undefined) return { value: described.default };
    const parsed = Number(value);
    return /^\d+$/.test(value) && parsed <= 65535
      ? { value: parsed }
      : { error: `--${name} "${value}" is not a port: give a number from 0 to 65535 (0 picks a free port)` };
  });
}

/** "500ms", "5s", "1m" → milliseconds, at least `minimumMs`. */
export function parseDuration(text: string, minimumMs: number): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const ms = match[2] === 'ms' ? amount : match[2] === 's' ? amount * 1000 : amount * 60_000;
  return Number.isFinite(ms) && ms >= minimumMs ? Math.round(ms) : undefined;
}

/** A duration in milliseconds, written like "500ms", "5s" or "1m". */
export function duration(
  described: Described & { readonly default: string; readonly minimumMs: number },
): Flag<number> {
  return stringFlag<number>(described, described.default, (raw, name) => {
    const value = textOf(raw) ?? described.default;
    const ms = parseDuration(value, described.minimumMs);
    return ms !== undefined
      ? { value: ms }
      : {
          error: `--${name} "${value}" is not a duration of at least ${described.minimumMs}ms: write e.g. 500ms, 5s or 1m`,
        };
  });
}

/** Go's spellings of a boolean (strconv.ParseBool), which upstream's flags accept. */
const trueWords = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const falseWords = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** A boolean written out (--leader-elect=false), for flags whose default is true. */
export function booleanText(described: Described & { readonly default: boolean }): Flag<boolean> {
  return stringFlag<boolean>(described, String(described.default), (raw, name) => {
    const value = textOf(raw);
    if (value === undefined) return { value: described.default };
    if (trueWords.has(value)) return { value: true };
    if (falseWords.has(value)) return { value: false };
    return { error: `--${name} "${value}" must be true or false` };
  });
}

/** One of a few words. */
export function oneOf<const W extends string>(
  described: Described & { readonly words: readonly W[]; readonly default: W },
): Flag<W> {
  const isWord = (value: string): value is W => (described.words as readonly string[]).includes(value);
  return stringFlag<W>(described, described.default, (raw, name) => {
    const value = textOf(raw) ?? described.default;
    return isWord(value)
      ? { value }
      : { error: `--${name} "${value}" must be ${described.words.join(' or ')}` };
  });
}

/** HOST:PORT or :PORT to listen on; with `off`, that word turns the server off (undefined). */
export function bindAddress(described: Described & { readonly default: string }): Flag<string>;
export function bindAddress(
  described: Described & { readonly default: string; readonly off: string },
): Flag<string | undefined>;
export function bindAddress(
  described: Described & { readonly default: string; readonly off?: string },
): Flag<string | undefined> {
  return stringFlag(described, described.default, (raw, name) => {
    const value = textOf(raw) ?? described.default;
    if (described.off !== undefined && value === described.off) return { value: undefined };
    try {
      parseBindAddress(value);
      return { value };
    } catch (error) {
      return { error: `--${name}: ${(error as Error).message}` };
    }
  });
}

/** HOST:PORT for a host and port, bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** --log-level, as upstream spells the levels; the value is pino's level. */
export function logLevel(described: Partial<Described> = {}): Flag<LevelWithSilent> {
  return stringFlag<LevelWithSilent>(
    {
      valueName: 'LEVEL',
      description: `Log verbosity: ${logLevelFlags.join(', ')}`,
      ...described,
    },
    'info',
    (raw, name) => {
      try {
        return { value: parseLogLevel(textOf(raw) ?? 'info') };
      } catch (error) {
        return { error: `--${name}: ${(error as Error).message}` };
      }
    },
  );
}

/** --kubeconfig: the credentials' file; absent means $KUBECONFIG, then in-cluster (runtime/kube-config). */
export function kubeconfig(description: string): Flag<string | undefined> {
  return text({
    description,
    valueName: 'PATH',
    defaultText: '$KUBECONFIG, then the in-cluster service account',
  });
}

/** --lb-class: which Services a component serves, by spec.loadBalancerClass. */
export function loadBalancerClass(verb: 'Serve' | 'Announce'): Flag<string | undefined> {
  return nonEmptyText({
    valueName: 'CLASS',
    description: `${verb} only Services with this spec.loadBalancerClass; without it, only Services that set no class`,
    whenEmpty: 'leave the flag out to serve Services without a class',
  });
}

/** --port and --health-probe-port, as src/operator/render passes them to the controller and the speaker. */
export function operandPorts(): { readonly port: Flag<number>; readonly 'health-probe-port': Flag<number> } {
  return {
    port: port({
      valueName: 'PORT',
      description: 'Port of the Prometheus /metrics endpoint; 0 picks a free port (logged at start)',
      default: 9120,
    }),
    'health-probe-port': port({
      valueName: 'PORT',
      description:
        'Port of /healthz (liveness) and /readyz (readiness); 0 picks a free port (logged at start)',
      default: 17472,
    }),
  };
}

/** How /metrics is served: HTTPS for authorized callers (the default) or, for development, plain HTTP. */
export function metricsSecurity(): {
  readonly 'metrics-insecure': Flag<boolean>;
  readonly 'metrics-cert-dir': Flag<string | undefined>;
} {
  return {
    'metrics-insecure': presence({
      description:
        'Serve /metrics over plain HTTP to anyone (development and tests); by default metrics are HTTPS and need a bearer token allowed to get /metrics',
    }),
    'metrics-cert-dir': text({
      valueName: 'DIR',
      description:
        'tls.crt and tls.key for the HTTPS metrics (a mounted Secret), reloaded when they change; without it, or while it is empty, a self-signed certificate',
    }),
  };
}

/** The component host's settings for those two flags. */
export function metricsHostOptions(values: {
  readonly 'metrics-insecure': boolean;
  readonly 'metrics-cert-dir': string | undefined;
}): { readonly metricsInsecure: boolean; readonly metricsCertDir: string | undefined } {
  return { metricsInsecure: values['metrics-insecure'], metricsCertDir: values['metrics-cert-dir'] };
}

export const defaultNamespace = 'metallb-system';

/** --namespace / -n: where the MetalLB objects live. */
export function namespace(description: string): Flag<string> {
  return text({ description, valueName: 'NS', short: 'n', default: defaultNamespace });
}

/** Reads every flag; all problems at once, one line each, in the order the flags are declared. */
export function readFlags<F extends FlagSet>(
  flags: F,
  raw: RawValues,
): { readonly ok: true; readonly values: FlagValues<F> } | { readonly ok: false; readonly errors: string[] } {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [name, flag] of Object.entries(flags)) {
    const result = flag.read(raw[name], name);
    if ('error' in result) errors.push(result.error);
    else values[name] = result.value;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values: values as FlagValues<F> };
}
