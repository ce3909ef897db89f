import { describe, expect, it } from '@jest/globals';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { controllerPod, metalLB, speakerPod } from '../../../test/support/operator.js';

function everyContainer(pod: V1PodSpec): V1Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/**
 * The checks of Kubernetes' "restricted" Pod Security Standard that a pod template decides (the API server's
 * PodSecurity admission enforces them; test/e2e/operator.e2e.ts asks it): what would be refused, or nothing.
 */
function restrictedViolations(pod: V1PodSpec): string[] {
  const violations: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) violations.push('host namespaces');
  for (const c of everyContainer(pod)) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) violations.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) violations.push(`${c.name}: allowPrivilegeEscalation`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL'))
      violations.push(`${c.name}: capabilities not dropped`);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) violations.push(`${c.name}: adds ${added.join(',')}`);
    if ((sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) violations.push(`${c.name}: root`);
    if ((sc.runAsUser ?? pod.securityContext?.runAsUser) === 0) violations.push(`${c.name}: uid 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') violations.push(`${c.name}: seccomp`);
  }
  return violations;
}

/** What each speaker-pod container may add beyond nothing; every entry has its reason in speaker.ts. */
const allowedCapabilities: Record<string, readonly string[]> = {
  'cp-frr-files': [],
  speaker: ['NET_RAW'],
  reloader: ['DAC_OVERRIDE'],
  frr: [
    'NET_ADMIN',
    'NET_RAW',
    'SYS_ADMIN',
    'NET_BIND_SERVICE',
    'SETUID',
    'SETGID',
    'CHOWN',
    'FOWNER',
    'DAC_OVERRIDE',
    'KILL',
  ],
};

describe('pod security of the rendered workloads', () => {
  const pods = { controller: controllerPod(metalLB()), speaker: speakerPod(metalLB()) };

  it('lets no container gain privileges, runs each under the runtime default seccomp profile, and drops every capability first', () => {
    for (const pod of Object.values(pods)) {
      expect(pod.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      for (const c of everyContainer(pod)) {
        expect([c.name, c.securityContext?.allowPrivilegeEscalation]).toEqual([c.name, false]);
        expect([c.name, c.securityContext?.privileged]).toEqual([c.name, undefined]);
        expect([c.name, c.securityContext?.capabilities?.drop]).toEqual([c.name, ['ALL']]);
      }
    }
  });

  it('adds back only the capabilities each speaker-pod container needs', () => {
    const added = Object.fromEntries(
      everyContainer(pods.speaker).map((c) => [c.name, c.securityContext?.capabilities?.add ?? []]),
    );
    expect(added).toEqual(allowedCapabilities);
  });

  it('runs the controller under the restricted Pod Security Standard, read-only and as a non-root user', () => {
    expect(restrictedViolations(pods.controller)).toEqual([]);
    expect(everyContainer(pods.controller).every((c) => c.securityContext?.readOnlyRootFilesystem)).toBe(
      true,
    );
  });

  it('keeps the speaker, on the host network with raw sockets, outside the restricted profile, as it must be', () => {
    // The check above is not vacuous: the speaker pod breaks it for exactly the reasons it needs.
    expect(restrictedViolations(pods.speaker)).toEqual(
      expect.arrayContaining([
        'host namespaces',
        'speaker: adds NET_RAW',
        'frr: adds NET_ADMIN,NET_RAW,SYS_ADMIN,SETUID,SETGID,CHOWN,FOWNER,DAC_OVERRIDE,KILL',
      ]),
    );
    expect(
      everyContainer(pods.speaker).find((c) => c.name === 'speaker')?.securityContext?.readOnlyRootFilesystem,
    ).toBe(true);
  });
});
