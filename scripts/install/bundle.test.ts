import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';

interface BundleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: { group?: string; names?: { kind?: string } };
}

const manifests = 'bundle/manifests';
const objects: BundleObject[] = readdirSync(manifests).map(
  (file) => parse(readFileSync(`${manifests}/${file}`, 'utf8')) as BundleObject,
);

/** API groups every Kubernetes cluster serves, with the CSV's own (OLM is there when a bundle is installed). */
const alwaysServed = new Set([
  'v1',
  'apps/v1',
  'rbac.authorization.k8s.io/v1',
  'apiextensions.k8s.io/v1',
  'admissionregistration.k8s.io/v1',
  'scheduling.k8s.io/v1',
  'policy/v1',
  'operators.coreos.com/v1alpha1',
]);

describe('the OLM bundle', () => {
  it('carries only kinds a plain cluster with OLM, or the bundle itself, serves', () => {
    // OLM fails the whole InstallPlan on one object whose kind the cluster does not serve: a
    // PrometheusRule here made the bundle uninstallable without the Prometheus Operator.
    const ownGroups = new Set(
      objects.filter((object) => object.kind === 'CustomResourceDefinition').map((crd) => crd.spec?.group),
    );
    const unservable = objects
      .filter((object) => !alwaysServed.has(object.apiVersion))
      .filter((object) => !ownGroups.has(object.apiVersion.split('/')[0]))
      .map((object) => `${object.apiVersion} ${object.kind} ${object.metadata.name}`);
    expect(unservable).toEqual([]);
    expect(ownGroups).toEqual(new Set(['metallb.io']));
  });
});
