/**
 * What the validating webhook allows. A create or update is judged by the whole configuration it would
 * produce, with the same buildConfig the controller and speakers run, and refused only for problems it
 * introduces: a pre-existing problem elsewhere does not block an unrelated change, and a reference to an
 * object not created yet (transient) does not block creating objects in any order.
 */
import { configInputOf, type ConfigInputKey } from '../api/kinds.js';
import { buildConfig, type ConfigInput } from '../config/index.js';
import { formatProblem, type Problem } from '../api/problem.js';
import type { AdmissionRequest, AdmissionVerdict } from './server.js';
import { validateMetalLB } from '../config/metallb.js';

type RawObject = Record<string, unknown>;

/**
 * The objects in the cluster an admission decision is judged against: each configuration kind's list (keyed
 * as buildConfig's input), plus the Secrets, Nodes and Namespaces the rules look at. The webhook takes them
 * from its watch caches plus what it admitted that the caches do not show yet (serialized-admission.ts).
 */
export type ClusterView = {
  readonly [K in ConfigInputKey | 'secrets' | 'nodes' | 'namespaces']: readonly RawObject[];
};

function nameOf(object: RawObject | null | undefined): string | undefined {
  const metadata = object?.metadata as RawObject | undefined;
  return typeof metadata?.name === 'string' ? metadata.name : undefined;
}

function input(view: ClusterView, metallbNamespace: string): ConfigInput {
  return { ...view, metallbNamespace };
}

/** What the configuration a view holds is judged to have wrong (and to warn about). */
export interface Judgement {
  readonly problems: readonly Problem[];
  readonly warnings: readonly Problem[];
}

export function judgeView(view: ClusterView, metallbNamespace: string): Judgement {
  const result = buildConfig(input(view, metallbNamespace));
  return { problems: result.ok ? [] : [...result.problems], warnings: [...result.warnings] };
}

/** The view with `object` in place of the object of the same name (or added). */
function withObject(
  view: ClusterView,
  key: ConfigInputKey,
  object: RawObject,
  namespace: string,
): ClusterView {
  const name = nameOf(object);
  const metadata = { ...((object.metadata as RawObject | undefined) ?? {}), namespace };
  const placed = { ...object, metadata };
  return { ...view, [key]: [...view[key].filter((existing) => nameOf(existing) !== name), placed] };
}

function deny(problems: readonly Problem[]): AdmissionVerdict {
  return { allowed: false, message: problems.map(formatProblem).join('\n') };
}

/**
 * `judgeBefore` judges the view as it is, without the request: the caller may answer it from a cache
 * while the view has not changed (it is the same for every request in between, and costs as much as the
 * judgement with the object).
 */
export function decideAdmission(
  request: AdmissionRequest,
  view: ClusterView,
  metallbNamespace: string,
  judgeBefore: () => Judgement = () => judgeView(view, metallbNamespace),
): AdmissionVerdict {
  const kind = request.kind.kind;
  const object = request.object ?? undefined;
  const ref = { kind, namespace: request.namespace, name: request.name ?? nameOf(object) };

  if (request.operation === 'DELETE') {
    if (kind !== 'BFDProfile') return { allowed: true };
    const users = view.peers.filter(
      (peer) => (peer.spec as RawObject | undefined)?.bfdProfile === request.name,
    );
    if (users.length === 0) return { allowed: true };
    return deny(
      users.map((peer) => ({
        code: 'object.inUse',
        object: ref,
        field: '',
        message: `cannot delete: BGPPeer ${nameOf(peer) ?? '<unnamed>'} uses this profile (spec.bfdProfile); remove or change that reference first`,
      })),
    );
  }
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { allowed: true };
  if (!object) return { allowed: true };

  if (request.namespace !== metallbNamespace) {
    return deny([
      {
        code: 'object.wrongNamespace',
        object: ref,
        field: 'metadata.namespace',
        message: `MetalLB resources must be created in namespace ${metallbNamespace}, the namespace MetalLB watches; an object in ${request.namespace ?? '<none>'} would never be used`,
      },
    ]);
  }
  if (kind === 'MetalLB') {
    const problems = validateMetalLB(object);
    return problems.length > 0 ? deny(problems) : { allowed: true };
  }
  const key = configInputOf(kind);
  if (key === undefined) return { allowed: true };

  const before = judgeBefore();
  const after = judgeView(withObject(view, key, object, metallbNamespace), metallbNamespace);
  const known = new Set(before.problems.map(formatProblem));
  const introduced = after.problems.filter(
    (problem) => !problem.transient && !known.has(formatProblem(problem)),
  );
  const knownWarnings = new Set(before.warnings.map(formatProblem));
  const warnings = after.warnings.filter((w) => !knownWarnings.has(formatProblem(w))).map(formatProblem);
  if (introduced.length > 0) return { ...deny(introduced), warnings };
  return warnings.length > 0 ? { allowed: true, warnings } : { allowed: true };
}
