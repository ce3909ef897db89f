/**
 * Rules for the MetalLB resource beyond its schema, shared by the webhook (reject at apply time) and the
 * operator (report Degraded when an object got in anyway, e.g. while the webhook was down).
 */
import { objectRef } from '../api/check-object.js';
import type { Problem } from '../api/problem.js';

type RawObject = Record<string, unknown>;

const supportedBackends = new Set(['', 'frr']);

function asObject(value: unknown): RawObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as RawObject)
    : undefined;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function validateMetalLB(object: RawObject): Problem[] {
  const ref = objectRef(object);
  const spec = asObject(object.spec) ?? {};
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ object: ref, field, message });

  for (const field of ['speakerTolerations', 'controllerTolerations']) {
    asList(spec[field]).forEach((item, index) => {
      const toleration = asObject(item) ?? {};
      const seconds = toleration.tolerationSeconds;
      if (typeof seconds === 'number' && seconds > 0 && toleration.effect !== 'NoExecute') {
        add(
          `spec.${field}[${index}].tolerationSeconds`,
          `tolerationSeconds only applies to effect NoExecute (got effect ${JSON.stringify(toleration.effect ?? '')}); set effect: NoExecute or remove tolerationSeconds`,
        );
      }
    });
  }

  for (const component of ['controllerConfig', 'speakerConfig']) {
    const affinity = asObject(asObject(spec[component])?.affinity) ?? {};
    for (const kind of ['nodeAffinity', 'podAffinity', 'podAntiAffinity']) {
      const terms = asList(asObject(affinity[kind])?.preferredDuringSchedulingIgnoredDuringExecution);
      terms.forEach((term, index) => {
        const weight = asObject(term)?.weight;
        if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > 100) {
          add(
            `spec.${component}.affinity.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${index}].weight`,
            `weight must be a whole number from 1 to 100, got ${JSON.stringify(weight ?? null)}`,
          );
        }
      });
    }
  }

  const backend = typeof spec.bgpBackend === 'string' ? spec.bgpBackend : '';
  if (!supportedBackends.has(backend)) {
    add(
      'spec.bgpBackend',
      `"${backend}" is not supported: this implementation runs FRR beside each speaker; leave bgpBackend unset or set it to frr`,
    );
  }
  return problems;
}
