import { describe, expect, it } from '@jest/globals';
import { ApiError } from '../runtime/raw-client.js';
import { detectCapabilities } from './capabilities.js';

function discovery(answers: Record<string, unknown>) {
  return {
    get: async <T>(path: string): Promise<T> => {
      if (path in answers) {
        const answer = answers[path];
        if (answer instanceof Error) throw answer;
        return answer as T;
      }
      throw new ApiError(404, 'NotFound', `${path} not found`, undefined);
    },
  };
}

describe('finding what the cluster serves', () => {
  it('finds ServiceMonitors and PrometheusRules when monitoring.coreos.com/v1 lists them, and OpenShift by its config group', async () => {
    expect(
      await detectCapabilities(
        discovery({
          '/apis/monitoring.coreos.com/v1': {
            resources: [{ name: 'podmonitors' }, { name: 'servicemonitors' }, { name: 'prometheusrules' }],
          },
          '/apis/config.openshift.io': { kind: 'APIGroup' },
        }),
      ),
    ).toEqual({ serviceMonitors: true, prometheusRules: true, openShift: true });
  });

  it('tells the two monitoring kinds apart: a cluster may serve ServiceMonitors without PrometheusRules', async () => {
    expect(
      await detectCapabilities(
        discovery({ '/apis/monitoring.coreos.com/v1': { resources: [{ name: 'servicemonitors' }] } }),
      ),
    ).toEqual({ serviceMonitors: true, prometheusRules: false, openShift: false });
    expect(
      await detectCapabilities(
        discovery({ '/apis/monitoring.coreos.com/v1': { resources: [{ name: 'prometheusrules' }] } }),
      ),
    ).toEqual({ serviceMonitors: false, prometheusRules: true, openShift: false });
  });

  it('finds neither on a plain cluster, nor ServiceMonitors when only PodMonitors are served', async () => {
    expect(await detectCapabilities(discovery({}))).toEqual({
      serviceMonitors: false,
      prometheusRules: false,
      openShift: false,
    });
    expect(
      await detectCapabilities(
        discovery({ '/apis/monitoring.coreos.com/v1': { resources: [{ name: 'podmonitors' }] } }),
      ),
    ).toEqual({
      serviceMonitors: false,
      prometheusRules: false,
      openShift: false,
    });
  });

  it('fails on an outage instead of answering "not served" (which would prune the monitoring objects)', async () => {
    await expect(
      detectCapabilities(
        discovery({
          '/apis/monitoring.coreos.com/v1': new ApiError(503, 'ServiceUnavailable', 'down', undefined),
        }),
      ),
    ).rejects.toThrow('down');
  });
});
