import { describe, expect, it } from '@jest/globals';
import type { V1Container, V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { operatorDeployment, webhookDeployment } from '../../manifests/install/objects.js';
import { findObject, metalLB, renderObjects } from '../../../test/support/operator.js';
import { componentNodeOptions } from './node-options.js';

function nodeOptionsOf(containers: readonly V1Container[] | undefined, name: string): string | undefined {
  const container = (containers ?? []).find((candidate) => candidate.name === name);
  if (!container) throw new Error(`no container ${name}`);
  return container.env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
}

describe('the Node.js flags the components run with', () => {
  it('keeps the young generation small (the flag is read only at start-up)', () => {
    expect(componentNodeOptions).toMatch(/--max-semi-space-size=\d+/);
  });

  it('sets them on every container that runs the metallb command, and only there', () => {
    const objects = renderObjects(metalLB());
    const controller = findObject<V1Deployment>(objects, 'Deployment', 'controller');
    const speaker = findObject<V1DaemonSet>(objects, 'DaemonSet', 'speaker');
    expect(nodeOptionsOf(controller.spec?.template.spec?.containers, 'controller')).toBe(
      componentNodeOptions,
    );
    expect(nodeOptionsOf(speaker.spec?.template.spec?.containers, 'speaker')).toBe(componentNodeOptions);
    // FRR's containers run no Node.
    for (const container of speaker.spec?.template.spec?.containers ?? []) {
      if (container.name !== 'speaker') expect(nodeOptionsOf([container], container.name)).toBeUndefined();
    }
    expect(nodeOptionsOf(operatorDeployment().spec?.template.spec?.containers, 'manager')).toBe(
      componentNodeOptions,
    );
    for (const olmCertDir of [false, true])
      expect(
        nodeOptionsOf(webhookDeployment({ olmCertDir }).spec?.template.spec?.containers, 'webhook'),
      ).toBe(componentNodeOptions);
  });
});
