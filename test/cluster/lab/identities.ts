/**
 * Product processes that each act as one ServiceAccount, as in a pod: a kubeconfig impersonating it, so any
 * RBAC gap shows as a refused request. The suites that prove an install's permissions start them here and
 * stop them all, last started first.
 */
import { join } from 'node:path';
import { serviceAccountUser, writeImpersonatingKubeconfig } from '../impersonation.js';
import { startProduct, type ProductProcess } from './product.js';

/** The extra info a kubelet-projected token carries: the name of the node its pod runs on. */
export const nodeNameExtra = 'authentication.kubernetes.io/node-name';

export interface IdentityOptions {
  /** The kubeconfig to impersonate from instead of the admin's, e.g. one relayed into a network namespace. */
  readonly kubeconfig?: string;
  /** Act with a node-bound token of this node, as a DaemonSet pod's ServiceAccount does. */
  readonly node?: string;
  /** Prefix the command, e.g. ['ip', 'netns', 'exec', NAMESPACE]. */
  readonly wrapper?: readonly string[];
}

export class ProductsAsServiceAccounts {
  private readonly running: ProductProcess[] = [];

  constructor(
    /** The admin kubeconfig whose credentials impersonate. */
    private readonly adminKubeconfig: string,
    private readonly namespace: string,
    /** Where the impersonating kubeconfigs are written. */
    private readonly workDir: string,
  ) {}

  start(
    serviceAccount: string,
    subcommand: string,
    args: readonly string[],
    { kubeconfig: base = this.adminKubeconfig, node, wrapper }: IdentityOptions = {},
  ): ProductProcess {
    const kubeconfig = writeImpersonatingKubeconfig(
      base,
      serviceAccountUser(this.namespace, serviceAccount),
      join(this.workDir, `${serviceAccount}${node ? `-${node}` : ''}.kubeconfig`),
      node ? { [nodeNameExtra]: [node] } : {},
    );
    const product = startProduct(subcommand, [`--kubeconfig=${kubeconfig}`, ...args], {
      kubeconfig: false,
      ...(wrapper ? { wrapper } : {}),
    });
    this.running.push(product);
    return product;
  }

  async stopAll(): Promise<void> {
    for (const product of this.running.splice(0).reverse()) await product.stop();
  }
}

/** The lines of a product's log that report a refused request. */
export function forbiddenLines(product: ProductProcess): string[] {
  return product
    .log()
    .split('\n')
    .filter((line) => /forbidden|\b403\b/i.test(line));
}
