/** The shape every `metallb` subcommand has, so main.ts can list, describe and run them alike. */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly description: string;
  /** Shown in --help; the command applies its own defaults. */
  readonly defaultText?: string;
  readonly valueName?: string;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Returns the process exit code. */
  run(
    values: Record<string, string | boolean | string[] | undefined>,
    positionals: string[],
    io: Output,
  ): Promise<number>;
}

export const exitUsage = 2;

export function helpText(command: Command): string {
  const lines = [`${command.summary}`, '', `Usage: ${command.usage}`, '', 'Flags:'];
  const entries = Object.entries({
    ...command.options,
    help: { type: 'boolean', short: 'h', description: 'Show this help.' } as OptionSpec,
  });
  for (const [name, spec] of entries) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    const extra = [spec.multiple ? 'repeatable' : '', spec.defaultText ? `default: ${spec.defaultText}` : '']
      .filter(Boolean)
      .join('; ');
    lines.push(`  ${flag.padEnd(30)} ${spec.description}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n');
}

/** Parses argv for a command; unknown flags are usage errors, reported rather than thrown. */
export function parseCommandArgs(
  command: Command,
  argv: string[],
):
  | { ok: true; values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }
  | { ok: false; error: string } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return {
      ok: true,
      values: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
    };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
