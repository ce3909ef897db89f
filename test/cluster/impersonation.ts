/**
 * Kubeconfigs that act as another identity: the admin's credentials with `as:` set, so the API server
 * authorizes every request as that user (for a ServiceAccount user also as its groups). A process run with
 * one has exactly the permissions the identity's RBAC grants, as it would in a pod with that ServiceAccount.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

export const serviceAccountUser = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;

/** Writes to `outPath` a copy of the kubeconfig at `adminPath` whose every user impersonates `user`. */
export function writeImpersonatingKubeconfig(adminPath: string, user: string, outPath: string): string {
  const config = parse(readFileSync(adminPath, 'utf8')) as {
    users: { name: string; user: Record<string, unknown> }[];
  };
  const users = config.users.map((entry) => ({ ...entry, user: { ...entry.user, as: user } }));
  writeFileSync(outPath, stringify({ ...config, users }), { mode: 0o600 });
  return outPath;
}
