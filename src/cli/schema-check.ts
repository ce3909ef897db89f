import type { Command } from './command.js';
import { readManifests } from '../manifests/documents.js';
import { checkObjectSchema, isOurs, objectRef } from '../api/check-object.js';
import { describeObject, formatProblem } from '../api/problem.js';

export const schemaCheckCommand: Command = {
  name: 'schema-check',
  summary:
    'Check metallb.io objects in YAML files against the API schemas (types, enums, ranges, required fields).',
  usage: 'metallb schema-check -f PATH [-f PATH ...]',
  options: {
    filename: {
      type: 'string',
      short: 'f',
      multiple: true,
      valueName: 'PATH',
      description: 'A YAML or JSON file, or a folder searched recursively; multi-document files are allowed',
    },
    quiet: { type: 'boolean', short: 'q', description: 'Print only problems, not the summary line' },
  },
  async run(values, positionals, io) {
    const paths = [...((values.filename as string[] | undefined) ?? []), ...positionals];
    if (paths.length === 0) {
      io.err('schema-check: give at least one file or folder with -f');
      return 2;
    }
    const { documents, unreadable } = readManifests(paths);
    for (const message of unreadable) io.err(`unreadable: ${message}`);
    let checked = 0;
    let problems = 0;
    for (const { source, object } of documents) {
      if (!isOurs(object)) {
        if (!values.quiet)
          io.err(`skipped ${describeObject(objectRef(object))} (${source}): not a metallb.io object`);
        continue;
      }
      checked += 1;
      for (const problem of checkObjectSchema(object)) {
        problems += 1;
        io.out(formatProblem(problem));
      }
    }
    if (!values.quiet) io.err(`checked ${checked} metallb.io object(s): ${problems} problem(s)`);
    if (unreadable.length > 0) return 2;
    return problems > 0 ? 1 : 0;
  },
};
