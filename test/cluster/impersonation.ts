/**
 * Kubeconfigs that act as another identity: the admin's credentials with `as:` set, so the API server
 * authorizes every request as that user (for a ServiceAccount user also as its groups). A process run with
 * one has exactly the permissions the identity's RBAC grants, as it would in a pod with that ServiceAccount.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

export const serviceAccountUser = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;

/**
 * Writes to `outPath` a copy of the kubeconfig at `adminPath` whose every user impersonates `user`, with
 * `extra` as the user's extra info (a node-bound token's node name, which admission policies check).
 */
export function writeImpersonatingKubeconfig(
  adminPath: string,
  user: string,
  outPath: string,
  extra: Readonly<Record<string, readonly string[]>> = {},
): string {
  const config = parse(readFileSync(adminPath, 'utf8')) as {
    users: { name: string; user: Record<string, unknown> }[];
  };
  const impersonation = Object.keys(extra).length > 0 ? { as: user, 'as-user-extra': extra } : { as: user };
  const users = config.users.map((entry) => ({ ...entry, user: { ...entry.user, ...impersonation } }));
  writeFileSync(outPath, stringify({ ...config, users }), { mode: 0o600 });
  return outPath;
}
