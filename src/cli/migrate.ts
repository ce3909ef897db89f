/**
 * `metallb migrate`: turns the ConfigMap that configured MetalLB before v0.13 into the custom resources that
 * replaced it, prints them, and then judges them with the same rules `metallb validate` and the webhook
 * apply, so a legacy configuration that was quietly wrong (overlapping pools, say) is caught before apply.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { Command, Output } from './command.js';
import { describeObject, formatProblem, type ObjectRef } from '../api/problem.js';
import { objectRef } from '../api/check-object.js';
import { parseManifest, type SourcedDocument } from '../manifests/documents.js';
import { buildConfig } from '../config/index.js';
import {
  configInputOf,
  defaultNamespace,
  isLegacyConfigMap,
  legacyTopLevelKeys,
  migrateLegacyConfig,
  migrateLegacyConfigMap,
  type MigratedObject,
  type Migration,
} from '../migrate/legacy-configmap.js';

const exitInvalid = 1;
const exitUnreadable = 2;

/** The legacy configuration found in a file: a ConfigMap, or the text of its `config` key on its own. */
type LegacyInput =
  | { readonly kind: 'configmap'; readonly object: Record<string, unknown> }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'none'; readonly reason: string };

/** A mapping with legacy top-level keys and no Kubernetes envelope: the text of a `config` key on its own. */
function isBareConfig(object: Record<string, unknown>): boolean {
  const keys = Object.keys(object);
  return (
    !keys.includes('kind') &&
    !keys.includes('apiVersion') &&
    keys.some((key) => (legacyTopLevelKeys as readonly string[]).includes(key))
  );
}

function findLegacyInput(path: string, text: string, documents: readonly SourcedDocument[]): LegacyInput {
  const configMaps = documents.filter(({ object }) => isLegacyConfigMap(object));
  // Several candidates happen with a whole namespace dumped to a file; MetalLB only ever read `config`.
  const candidates =
    configMaps.length > 1
      ? configMaps.filter(({ object }) => objectRef(object).name === 'config')
      : configMaps;
  const [only] = candidates;
  if (only && candidates.length === 1) return { kind: 'configmap', object: only.object };
  if (configMaps.length > 1) {
    const listed = configMaps.map(({ object, source }) => `${describeObject(objectRef(object))} (${source})`);
    return {
      kind: 'none',
      reason: `${path} holds ${configMaps.length} ConfigMaps with a config key, and not exactly one of them is named "config": ${listed.join(', ')}; put the one to migrate in a file of its own`,
    };
  }
  const [first] = documents;
  if (first && documents.length === 1 && isBareConfig(first.object)) return { kind: 'text', text };
  return {
    kind: 'none',
    reason: `${path} holds no legacy MetalLB configuration: neither a v1 ConfigMap with a data.config key nor the text of one (${legacyTopLevelKeys.join(', ')})`,
  };
}

function toYaml(objects: readonly MigratedObject[], source: ObjectRef): string {
  const header = `# Migrated by metallb migrate from ${describeObject(source)}.\n`;
  return header + objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

function summary(migration: Migration): string {
  const counts = new Map<string, number>();
  for (const object of migration.objects) counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
  const listed = [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
  return `migrated ${describeObject(migration.source)} into namespace ${migration.namespace}: ${listed || 'no objects'}`;
}

function report(io: Output, migration: Migration): void {
  for (const warning of migration.warnings) io.err(`warning: ${formatProblem(warning)}`);
  for (const problem of migration.problems) io.err(formatProblem(problem));
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary:
    'Convert the ConfigMap that configured MetalLB before v0.13 into IPAddressPools, advertisements, BGPPeers, BFDProfiles and a Community, and validate the result.',
  usage: 'metallb migrate -f FILE [--namespace NAMESPACE] [-o FILE]',
  options: {
    filename: {
      type: 'string',
      short: 'f',
      valueName: 'FILE',
      description:
        'A YAML file with the legacy ConfigMap (kubectl get configmap config -n metallb-system -o yaml), or just the text of its config key',
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NAMESPACE',
      defaultText: `the ConfigMap's namespace, then ${defaultNamespace}`,
      description: 'The namespace MetalLB runs in: the migrated objects are placed and validated there',
    },
    output: {
      type: 'string',
      short: 'o',
      valueName: 'FILE',
      defaultText: 'standard output',
      description: 'Write the migrated objects to this file',
    },
  },
  async run(values, positionals, io) {
    const paths = [...(typeof values.filename === 'string' ? [values.filename] : []), ...positionals];
    const [path] = paths;
    if (path === undefined || paths.length > 1) {
      io.err('migrate: give exactly one file with -f');
      return exitUnreadable;
    }
    const namespace = typeof values.namespace === 'string' && values.namespace ? values.namespace : undefined;
    const outputPath = typeof values.output === 'string' && values.output ? values.output : undefined;

    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      io.err(`unreadable: ${path}: ${(error as Error).message}`);
      return exitUnreadable;
    }
    const { documents, unreadable } = parseManifest(path, text);
    if (unreadable.length > 0) {
      for (const message of unreadable) io.err(`unreadable: ${message}`);
      return exitUnreadable;
    }
    const input = findLegacyInput(path, text, documents);
    if (input.kind === 'none') {
      io.err(`migrate: ${input.reason}`);
      return exitUnreadable;
    }
    const migration =
      input.kind === 'configmap'
        ? migrateLegacyConfigMap(input.object, { namespace })
        : migrateLegacyConfig(input.text, { namespace, source: { kind: 'legacy config', name: path } });

    report(io, migration);
    if (migration.problems.length > 0) {
      // Whatever could not be read is missing from the objects: printing them would invite applying a
      // configuration with pools or peers silently gone.
      io.err(`not migrated: ${migration.problems.length} problem(s) in ${describeObject(migration.source)}`);
      return exitInvalid;
    }

    const yaml = toYaml(migration.objects, migration.source);
    if (outputPath !== undefined) {
      try {
        writeFileSync(outputPath, yaml);
      } catch (error) {
        io.err(`migrate: cannot write ${outputPath}: ${(error as Error).message}`);
        return exitUnreadable;
      }
    } else {
      io.out(yaml.trimEnd());
    }
    io.err(summary(migration) + (outputPath !== undefined ? ` (written to ${outputPath})` : ''));

    const result = buildConfig(configInputOf(migration));
    for (const warning of result.warnings) io.err(`warning: ${formatProblem(warning)}`);
    if (result.ok) return 0;
    for (const problem of result.problems) io.err(formatProblem(problem));
    io.err(
      `the migrated configuration has ${result.problems.length} problem(s); MetalLB would reject it until they are fixed (in the legacy ConfigMap, or in the migrated objects)`,
    );
    return exitInvalid;
  },
};
