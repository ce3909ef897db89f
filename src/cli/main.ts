#!/usr/bin/env node
/** The single `metallb` entry point; each subcommand lives in its own module. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseCommandArgs, exitUsage, type Command, type Output } from './command.js';
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

/**
 * Each command's module loads only when that command runs (or for the overview), so a process holds only
 * its own command's code: the controller does not load the speaker, the operator's renderers or the webhook.
 */
const commandLoaders: readonly (readonly [string, () => Promise<Command>])[] = [
  ['version', async () => versionCommand],
  ['schema-check', async () => (await import('./schema-check.js')).schemaCheckCommand],
  ['validate', async () => (await import('./validate.js')).validateCommand],
  ['migrate', async () => (await import('./migrate.js')).migrateCommand],
  ['frr-config', async () => (await import('./frr-config.js')).frrConfigCommand],
  ['speaker', async () => (await import('./speaker.js')).speakerCommand],
  ['render', async () => (await import('./render.js')).renderCommand],
  ['operator', async () => (await import('./operator.js')).operatorCommand],
  ['controller', async () => (await import('./controller.js')).controllerCommand],
  ['webhook', async () => (await import('./webhook.js')).webhookCommand],
];

export const commandNames: readonly string[] = commandLoaders.map(([name]) => name);

/** Every command, loaded (for the overview). */
export async function loadCommands(): Promise<Command[]> {
  const commands: Command[] = [];
  // One at a time: modules they share then load once, in order.
  for (const [, load] of commandLoaders) commands.push(await load());
  return commands;
}

async function overview(): Promise<string> {
  const commands = await loadCommands();
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
    io.out(await overview());
    return name ? 0 : exitUsage;
  }
  const load = commandLoaders.find(([candidate]) => candidate === name)?.[1];
  if (!load) {
    io.err(`metallb: unknown command "${name}"\n\n${await overview()}`);
    return exitUsage;
  }
  const command = await load();
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
