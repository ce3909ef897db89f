/**
 * Product processes that each act as one ServiceAccount, as in a pod: a kubeconfig impersonating it, so any
 * RBAC gap shows as a refused request. The suites that prove an install's permissions start them here and
 * stop them all, last started first.
 */
import { join } from 'node:path';
import { serviceAccountUser, writeImpersonatingKubeconfig } from '../impersonation.js';
import { startProduct, type ProductProcess } from './product.js';

export class ProductsAsServiceAccounts {
  private readonly running: ProductProcess[] = [];

  constructor(
    /** The admin kubeconfig whose credentials impersonate. */
    private readonly adminKubeconfig: string,
    private readonly namespace: string,
    /** Where the impersonating kubeconfigs are written. */
    private readonly workDir: string,
  ) {}

  start(serviceAccount: string, subcommand: string, args: readonly string[]): ProductProcess {
    const kubeconfig = writeImpersonatingKubeconfig(
      this.adminKubeconfig,
      serviceAccountUser(this.namespace, serviceAccount),
      join(this.workDir, `${serviceAccount}.kubeconfig`),
    );
    const product = startProduct(subcommand, [`--kubeconfig=${kubeconfig}`, ...args], { kubeconfig: false });
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
