/**
 * The BGP session password: inline in the BGPPeer, or in a kubernetes.io/basic-auth Secret (key "password")
 * in the MetalLB namespace. A Secret that does not exist yet is a transient problem, so peers and Secrets
 * can be created in any order.
 */
import { asRecord, quote, readNonEmptyString, readRecord, readString, type Fields } from './read.js';
import type { SourceObject } from './objects.js';
import { SecretText } from './secret-text.js';

const basicAuth = 'kubernetes.io/basic-auth';
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Secrets of the MetalLB namespace by name. */
export function indexSecrets(secrets: unknown, metallbNamespace: string): Map<string, Fields> {
  const index = new Map<string, Fields>();
  for (const item of Array.isArray(secrets) ? (secrets as unknown[]) : []) {
    const secret = asRecord(item);
    const metadata = readRecord(secret, 'metadata');
    const name = readString(metadata, 'name');
    if (secret && name && readString(metadata, 'namespace') === metallbNamespace && !index.has(name)) {
      index.set(name, secret);
    }
  }
  return index;
}

/**
 * The names of the Secrets BGPPeers take their password from, sorted and without repeats: what the speaker
 * reads and the only Secrets its Role names. A reference to another namespace is left out (the peer is
 * refused for it, and the speaker reads nothing there).
 */
export function referencedPasswordSecrets(peers: readonly unknown[], metallbNamespace: string): string[] {
  const names = new Set<string>();
  for (const peer of peers) {
    const reference = readRecord(readRecord(asRecord(peer), 'spec'), 'passwordSecret');
    const name = readNonEmptyString(reference, 'name');
    const namespace = readNonEmptyString(reference, 'namespace');
    if (name !== undefined && (namespace === undefined || namespace === metallbNamespace)) names.add(name);
  }
  return [...names].sort();
}

export interface PasswordResult {
  readonly password?: SecretText;
  readonly secretName?: string;
}

export function resolvePassword(
  source: SourceObject,
  secrets: ReadonlyMap<string, Fields>,
  metallbNamespace: string,
): PasswordResult {
  const { spec, report } = source;
  const inline = readNonEmptyString(spec, 'password');
  const reference = readRecord(spec, 'passwordSecret');
  const secretName = readNonEmptyString(reference, 'name');
  if (inline !== undefined && secretName !== undefined) {
    report.problem(
      'peer.passwordTwice',
      'spec.passwordSecret',
      'both password and passwordSecret are set; keep one of them (passwordSecret keeps the password out of the BGPPeer)',
    );
    return {};
  }
  if (secretName === undefined) return inline === undefined ? {} : { password: new SecretText(inline) };
  const referencedNamespace = readNonEmptyString(reference, 'namespace');
  if (referencedNamespace !== undefined && referencedNamespace !== metallbNamespace) {
    report.problem(
      'peer.secretNamespace',
      'spec.passwordSecret.namespace',
      `${quote(referencedNamespace)}: MetalLB reads Secrets only from its own namespace ${quote(metallbNamespace)}; move the Secret there and drop the namespace`,
    );
    return { secretName };
  }
  const secret = secrets.get(secretName);
  const secretDescription = `Secret ${quote(secretName)}`;
  if (!secret) {
    report.problem(
      'peer.secretMissing',
      'spec.passwordSecret.name',
      `${secretDescription} does not exist in ${quote(metallbNamespace)}; create it with type ${basicAuth} and the key password`,
      { transient: true },
    );
    return { secretName };
  }
  const type = readString(secret, 'type') || 'Opaque';
  if (type !== basicAuth) {
    report.problem(
      'peer.secretType',
      'spec.passwordSecret.name',
      `${secretDescription} has type ${quote(type)}; a BGP password Secret must have type ${basicAuth}`,
    );
    return { secretName };
  }
  const plain = readString(readRecord(secret, 'stringData'), 'password');
  if (plain !== undefined) return { secretName, password: new SecretText(plain) };
  const encoded = readString(readRecord(secret, 'data'), 'password');
  if (encoded === undefined) {
    report.problem(
      'peer.secretNoPassword',
      'spec.passwordSecret.name',
      `${secretDescription} has no password key; put the password under data.password (base64) or stringData.password`,
    );
    return { secretName };
  }
  if (!base64.test(encoded)) {
    report.problem(
      'peer.secretBase64',
      'spec.passwordSecret.name',
      `data.password of ${secretDescription} is not valid base64; encode it, or put the plain text under stringData.password`,
    );
    return { secretName };
  }
  return { secretName, password: new SecretText(Buffer.from(encoded, 'base64').toString('utf8')) };
}
