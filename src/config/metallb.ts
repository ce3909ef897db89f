/**
 * Rules for the MetalLB resource beyond its schema, shared by the webhook (reject at apply time) and the
 * operator (report Degraded when an object got in anyway, e.g. while the webhook was down).
 */
import { objectRef } from '../api/check-object.js';
import type { Problem, ProblemCode } from '../api/problem.js';
import { asRecord, readField, readList, readRecord, readString, type Fields } from './read.js';

const supportedBackends = new Set(['', 'frr']);

export function validateMetalLB(object: Fields): Problem[] {
  const ref = objectRef(object);
  const spec = readRecord(object, 'spec');
  const problems: Problem[] = [];
  const add = (code: ProblemCode, field: string, message: string) =>
    problems.push({ code, object: ref, field, message });

  for (const field of ['speakerTolerations', 'controllerTolerations']) {
    readList(spec, field).forEach((item, index) => {
      const toleration = asRecord(item);
      const seconds = readField(toleration, 'tolerationSeconds');
      const effect = readField(toleration, 'effect');
      if (typeof seconds === 'number' && seconds > 0 && effect !== 'NoExecute') {
        add(
          'metallb.tolerationSeconds',
          `spec.${field}[${index}].tolerationSeconds`,
          `tolerationSeconds only applies to effect NoExecute (got effect ${JSON.stringify(effect ?? '')}); set effect: NoExecute or remove tolerationSeconds`,
        );
      }
    });
  }

  for (const component of ['controllerConfig', 'speakerConfig']) {
    const affinity = readRecord(readRecord(spec, component), 'affinity');
    for (const kind of ['nodeAffinity', 'podAffinity', 'podAntiAffinity']) {
      const terms = readList(readRecord(affinity, kind), 'preferredDuringSchedulingIgnoredDuringExecution');
      terms.forEach((term, index) => {
        const weight = readField(asRecord(term), 'weight');
        if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > 100) {
          add(
            'metallb.affinityWeight',
            `spec.${component}.affinity.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${index}].weight`,
            `weight must be a whole number from 1 to 100, got ${JSON.stringify(weight ?? null)}`,
          );
        }
      });
    }
  }

  const backend = readString(spec, 'bgpBackend') ?? '';
  if (!supportedBackends.has(backend)) {
    add(
      'metallb.bgpBackend',
      'spec.bgpBackend',
      `"${backend}" is not supported: this implementation runs FRR beside each speaker; leave bgpBackend unset or set it to frr`,
    );
  }
  return problems;
}
