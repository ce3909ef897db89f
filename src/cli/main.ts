#!/usr/bin/env node
/** The single `metallb` entry point; each subcommand lives in its own module. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseCommandArgs, exitUsage, type Command, type Output } from './command.js';
import { schemaCheckCommand } from './schema-check.js';
import { renderCommand } from './render.js';
import { validateCommand } from './validate.js';
import { migrateCommand } from './migrate.js';
import { frrConfigCommand } from './frr-config.js';
import { speakerCommand } from './speaker.js';
import { controllerCommand } from './controller.js';
import { webhookCommand } from './webhook.js';
import { operatorCommand } from './operator.js';
import { productVersion } from './version.js';

const versionCommand: Command = {
  name: 'version',
  summary: 'Print the version of this build.',
  usage: 'metallb version',
  options: {},
  async run(_values, _positionals, io) {
    io.out(`metallb ${productVersion()} (node ${process.version})`);
    return 0;
  },
};

export const commands: readonly Command[] = [
  versionCommand,
  schemaCheckCommand,
  validateCommand,
  migrateCommand,
  frrConfigCommand,
  speakerCommand,
  renderCommand,
  operatorCommand,
  controllerCommand,
  webhookCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'metallb: a bare-metal load balancer for Kubernetes.',
    '',
    'Usage: metallb COMMAND [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'metallb COMMAND --help' for a command's flags.",
  ].join('\n');
}

export async function runCli(argv: string[], io: Output): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(overview());
    return name ? 0 : exitUsage;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`metallb: unknown command "${name}"\n\n${overview()}`);
    return exitUsage;
  }
  const parsed = parseCommandArgs(command, rest);
  if (!parsed.ok) {
    io.err(`metallb ${command.name}: ${parsed.error}\n\n${helpText(command)}`);
    return exitUsage;
  }
  if (parsed.values.help) {
    io.out(helpText(command));
    return 0;
  }
  return command.run(parsed.values, parsed.positionals, io);
}

// Run only when executed (also through the npm bin symlink), not when imported by tests.
const invokedDirectly =
  Boolean(process.argv[1]) && realpathSync(process.argv[1] as string) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const io: Output = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`metallb: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
