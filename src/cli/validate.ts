/**
 * `metallb validate`: the configuration rules the webhook and the controllers apply, run offline on YAML
 * files. The files are taken as the whole configuration, so a reference to an object they do not contain
 * (a BFDProfile, a Secret, a community alias) is a problem here even though the webhook would admit it.
 */
import type { Command } from './command.js';
import { manifestInput, manifestInputOptions } from './manifest-input.js';
import { readManifests } from '../manifests/documents.js';
import { isOurs, objectRef } from '../api/check-object.js';
import { describeObject, formatProblem, type Problem } from '../api/problem.js';
import { buildConfig, checkStandalone } from '../config/index.js';
import {
  configListOf,
  emptyConfigLists,
  inNamespace,
  namespacedConfigLists,
} from '../manifests/config-documents.js';

export const validateCommand: Command = {
  name: 'validate',
  summary:
    'Check a MetalLB configuration in YAML files offline: the schema and every rule the webhook and the controllers apply.',
  usage: 'metallb validate -f PATH [-f PATH ...] [--namespace NAMESPACE]',
  options: {
    ...manifestInputOptions('; any mix of metallb.io objects, Secrets, Nodes and Namespaces', 'objects'),
    quiet: {
      type: 'boolean',
      short: 'q',
      description: 'Print only problems: no warnings, skipped objects or summary',
    },
  },
  async run(values, positionals, io) {
    const { paths, namespace } = manifestInput(values, positionals);
    if (paths.length === 0) {
      io.err('validate: give at least one file or folder with -f');
      return 2;
    }
    const { documents, unreadable } = readManifests(paths);
    for (const message of unreadable) io.err(`unreadable: ${message}`);

    const collected = emptyConfigLists<Record<string, unknown>>();
    const standaloneProblems: Problem[] = [];
    let checked = 0;
    for (const { source, object } of documents) {
      if (isOurs(object)) {
        checked += 1;
        const placed = inNamespace(object, namespace);
        const list = configListOf(object);
        if (list) collected[list].push(placed);
        else standaloneProblems.push(...checkStandalone(placed, namespace, objectRef(placed)));
        continue;
      }
      const core = configListOf(object);
      if (core) {
        collected[core].push(namespacedConfigLists.has(core) ? inNamespace(object, namespace) : object);
        continue;
      }
      if (!values.quiet) {
        io.err(
          `skipped ${describeObject(objectRef(object))} (${source}): neither a metallb.io object nor a Secret, Node or Namespace`,
        );
      }
    }

    const result = buildConfig({ ...collected, metallbNamespace: namespace });
    const problems = [...(result.ok ? [] : result.problems), ...standaloneProblems];
    for (const problem of problems) io.out(formatProblem(problem));
    if (!values.quiet) {
      for (const warning of result.warnings) io.err(`warning: ${formatProblem(warning)}`);
      io.err(
        `validated ${checked} metallb.io object(s): ${problems.length} problem(s), ${result.warnings.length} warning(s)`,
      );
    }
    if (unreadable.length > 0) return 2;
    return problems.length > 0 ? 1 : 0;
  },
};
