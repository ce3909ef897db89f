/**
 * Which cluster credentials a binary uses, in the documented order: the --kubeconfig flag, then
 * $KUBECONFIG (a path list, merged like kubectl), then the pod's service account (in-cluster). Anything
 * missing or unusable is an error that says what was tried.
 */
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { credentialsFromFiles, inClusterCredentials, type Credentials } from './credentials.js';

export interface LoadedKubeConfig {
  readonly kubeConfig: Credentials;
  /** Where it came from, for the startup log line. */
  readonly source: string;
}

export interface KubeConfigOptions {
  /** The --kubeconfig flag's value, if given. */
  readonly kubeconfig?: string;
  /** Prefix for the service account files (tests point it at a temporary directory). */
  readonly inClusterPathPrefix?: string;
}

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(options: KubeConfigOptions = {}): LoadedKubeConfig {
  if (options.kubeconfig) {
    return {
      kubeConfig: fromFiles([options.kubeconfig], '--kubeconfig'),
      source: `--kubeconfig ${options.kubeconfig}`,
    };
  }
  const envPaths = (process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (envPaths.length > 0) {
    return {
      kubeConfig: fromFiles(envPaths, '$KUBECONFIG'),
      source: `$KUBECONFIG ${envPaths.join(delimiter)}`,
    };
  }
  const prefix = options.inClusterPathPrefix ?? '';
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (host && port && existsSync(`${prefix}${serviceAccountToken}`)) {
    return { kubeConfig: inClusterCredentials(host, port, prefix), source: 'in-cluster service account' };
  }
  throw new Error(
    'no Kubernetes credentials found: pass --kubeconfig, set $KUBECONFIG, or run in a pod with a service ' +
      `account (needs KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and ${serviceAccountToken})`,
  );
}

function fromFiles(paths: readonly string[], origin: string): Credentials {
  const existing = paths.filter((path) => existsSync(path));
  const missing = paths.filter((path) => !existsSync(path));
  // kubectl skips missing entries of a $KUBECONFIG list but insists on an explicit --kubeconfig file.
  if (existing.length === 0 || (origin === '--kubeconfig' && missing.length > 0)) {
    throw new Error(`kubeconfig ${missing.join(', ')} (from ${origin}) does not exist`);
  }
  try {
    return credentialsFromFiles(existing);
  } catch (error) {
    throw new Error(
      `kubeconfig ${existing.join(delimiter)} (from ${origin}) could not be used: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
