/** `metallb render`: the objects the operator would apply for a MetalLB CR, without a cluster. */
import { referencedPasswordSecrets } from '../config/passwords.js';
import { stringify } from 'yaml';
import type { Command } from './command.js';
import { checkObjectSchema, objectRef } from '../api/check-object.js';
import { describeObject, formatProblem } from '../api/problem.js';
import type { MetalLB } from '../api/types.generated.js';
import { readManifests } from '../manifests/documents.js';
import { parseOperatorEnv } from '../operator/env.js';
import { renderMetalLB } from '../operator/render/index.js';

export const renderCommand: Command = {
  name: 'render',
  summary: 'Print, as multi-document YAML, the objects the operator would apply for a MetalLB resource.',
  usage: 'metallb render -f PATH [--namespace NS]',
  options: {
    filename: {
      type: 'string',
      short: 'f',
      valueName: 'PATH',
      description: 'A YAML or JSON file holding one MetalLB resource (other kinds in it are skipped)',
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NS',
      description: "The operator's namespace; overrides OPERATOR_NAMESPACE",
      defaultText: '$OPERATOR_NAMESPACE, then metallb-system',
    },
  },
  async run(values, positionals, io) {
    const path = values.filename;
    if (typeof path !== 'string' || positionals.length > 0) {
      io.err('render: give exactly one file with -f');
      return 2;
    }
    const { documents, unreadable } = readManifests([path]);
    if (unreadable.length > 0) {
      for (const message of unreadable) io.err(`unreadable: ${message}`);
      return 2;
    }
    const resources = documents.filter(({ object }) => object.kind === 'MetalLB');
    const [resource] = resources;
    if (!resource || resources.length > 1) {
      io.err(
        `render: ${path} holds ${resources.length} MetalLB resources; it must hold exactly one` +
          (resources.length > 1
            ? ` (${resources.map(({ object }) => describeObject(objectRef(object))).join(', ')})`
            : ''),
      );
      return 2;
    }

    // Render only what the API server would have admitted: the renderer relies on the schema's types.
    const schemaProblems = checkObjectSchema(resource.object);
    if (schemaProblems.length > 0) {
      for (const problem of schemaProblems) io.out(formatProblem(problem));
      return 1;
    }

    const namespace = typeof values.namespace === 'string' ? values.namespace : undefined;
    const parsedEnv = parseOperatorEnv({
      ...process.env,
      ...(namespace !== undefined ? { OPERATOR_NAMESPACE: namespace } : {}),
    });
    if (!parsedEnv.ok) {
      for (const problem of parsedEnv.problems) io.out(formatProblem(problem));
      return 1;
    }

    // BGPPeers in the same files name the password Secrets the speaker's Role may read, as in a cluster.
    const peers = documents.filter(({ object }) => object.kind === 'BGPPeer').map(({ object }) => object);
    const rendered = renderMetalLB(
      resource.object as unknown as MetalLB,
      parsedEnv.env,
      undefined,
      referencedPasswordSecrets(peers, parsedEnv.env.namespace),
    );
    if (!rendered.ok) {
      for (const problem of rendered.problems) io.out(formatProblem(problem));
      return 1;
    }
    io.out(
      rendered.objects
        .map((object) => stringify(object, { lineWidth: 0 }))
        .join('---\n')
        .trimEnd(),
    );
    return 0;
  },
};
