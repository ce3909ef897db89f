/**
 * Structured logging: one JSON object per line with `component`, `object` (namespace/name) where a line is
 * about one object, and `err` for errors. Secrets never reach the output: every logged object is copied with
 * sensitive fields (password, token, a Secret's data, … at any depth) replaced before pino serializes it, and
 * child-logger bindings get pino's path redaction for the same names. Interpolated message strings
 * (`log.info(`… ${value}`)`) are not inspected: pass values as fields, never in the message.
 */
import { pino, stdSerializers, stdTimeFunctions, type DestinationStream, type LevelWithSilent } from 'pino';
import type { Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** The values `--log-level` accepts, as upstream MetalLB spells them. */
export const logLevelFlags = ['all', 'debug', 'info', 'warn', 'error', 'none'] as const;
export type LogLevelFlag = (typeof logLevelFlags)[number];

const levelForFlag: Readonly<Record<LogLevelFlag, LevelWithSilent>> = {
  all: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  none: 'silent',
};

export function isLogLevelFlag(value: string): value is LogLevelFlag {
  return (logLevelFlags as readonly string[]).includes(value);
}

/** Maps a `--log-level` value to pino's level; unknown values are a usage error with the accepted list. */
export function parseLogLevel(flag: string): LevelWithSilent {
  if (isLogLevelFlag(flag)) return levelForFlag[flag];
  throw new Error(`invalid log level "${flag}": use one of ${logLevelFlags.join(', ')}`);
}

export const REDACTED = '[REDACTED]';

/** Field names whose values are secret wherever they appear (compared case-insensitively). */
const secretFieldNames = new Set([
  'password',
  'passwd',
  'token',
  'bearertoken',
  'authorization',
  'privatekey',
  'stringdata',
]);

const maxDepth = 12;

/**
 * The same names as pino redaction paths, top level and one level down. The deep walk above covers logged
 * objects; these cover child-logger bindings, which pino serializes without running our formatter.
 */
const bindingRedactPaths = [
  'password',
  'passwd',
  'token',
  'bearerToken',
  'authorization',
  'privateKey',
  'stringData',
  'data',
].flatMap((name) => [name, `*.${name}`]);

function isSecretField(name: string, depth: number, container: Readonly<Record<string, unknown>>): boolean {
  const lower = name.toLowerCase();
  if (secretFieldNames.has(lower)) return true;
  // `data` holds a Secret's payload. Top-level and one level down (a logged object's `data`) are always
  // redacted; deeper only when the container says it is a Secret, so a ConfigMap nested in a report stays.
  return lower === 'data' && (depth <= 1 || container.kind === 'Secret');
}

/**
 * A copy of `value` with secret fields replaced by "[REDACTED]". Errors become plain objects (type, message,
 * stack, own fields) so their fields are checked too. Cycles and very deep nesting are cut off.
 */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > maxDepth) return '[Truncated]';
  seen.add(value);
  try {
    if (value instanceof Error) return redactSecrets(stdSerializers.err(value), depth, seen);
    if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    const record = value as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(record)) {
      copy[name] = isSecretField(name, depth, record) ? REDACTED : redactSecrets(field, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

export interface LoggerOptions {
  readonly component: string;
  /** A `--log-level` value or a pino level; default info. */
  readonly level?: LogLevelFlag | LevelWithSilent;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level === undefined ? 'info' : toPinoLevel(options.level);
  return pino(
    {
      level,
      base: { component: options.component },
      timestamp: stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactSecrets(bindings) as Record<string, unknown>,
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
      redact: { paths: bindingRedactPaths, censor: REDACTED },
      // The log formatter has already turned errors into redacted plain objects; leave those alone.
      serializers: { err: (value: unknown) => (value instanceof Error ? stdSerializers.err(value) : value) },
    },
    options.destination,
  );
}

function toPinoLevel(level: LogLevelFlag | LevelWithSilent): LevelWithSilent {
  return isLogLevelFlag(level) ? levelForFlag[level] : level;
}

/** A logger that drops everything: the default for library pieces whose caller passed none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

interface NamedObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/** The `object` field for a log line: "namespace/name", or "name" for cluster-scoped objects. */
export function objectField(object: NamedObject): string {
  const name = object.metadata?.name ?? '';
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** A child logger whose every line names the object it is about. */
export function loggerFor(logger: Logger, object: NamedObject | string): Logger {
  return logger.child({ object: typeof object === 'string' ? object : objectField(object) });
}
