/**
 * The webhook's own CA and serving certificate, for installs where neither OLM nor cert-manager provides
 * one. Keys come from Node's native RSA generator (fast); node-forge only builds and signs the X.509
 * structures. SHA-256 signatures: the API server (Go) refuses SHA-1 on anything but roots.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WebhookCertificates {
  readonly ca: PemPair;
  readonly serving: PemPair;
}

const day = 24 * 60 * 60 * 1000;

function newKeyPair(): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  keyPem: string;
} {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem };
}

function serialNumber(): string {
  // Positive, 16 random bytes: unique enough that two rotations never collide.
  return `01${randomBytes(15).toString('hex')}`;
}

function validity(cert: forge.pki.Certificate, now: Date, lifetimeMs: number): void {
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000); // tolerate small clock skew
  cert.validity.notAfter = new Date(now.getTime() + lifetimeMs);
}

export function createCertificateAuthority(
  commonName: string,
  now = new Date(),
  lifetimeMs = 3650 * day,
): PemPair {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, now, lifetimeMs);
  const subject = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'metallb' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

export interface ServingCertificateRequest {
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly lifetimeMs?: number;
}

export function createServingCertificate(
  ca: PemPair,
  request: ServingCertificateRequest,
  now = new Date(),
): PemPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, now, request.lifetimeMs ?? 365 * day);
  cert.setSubject([
    { name: 'commonName', value: request.dnsNames[0] ?? request.ipAddresses?.[0] ?? 'webhook' },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...request.dnsNames.map((value) => ({ type: 2, value })),
        ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

/**
 * Whether `certPem` should be replaced: unparseable, expiring within the last third of its life, or not
 * covering every name the webhook is reached by (the dominant upstream failure: "certificate is valid for
 * X, not Y").
 */
export function needsRotation(
  certPem: string | undefined,
  names: readonly string[],
  now = new Date(),
): boolean {
  if (!certPem) return true;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return true;
  }
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  if (now.getTime() > notAfter - (notAfter - notBefore) / 3) return true;
  return names.some((name) => !(isIP(name) ? cert.checkIP(name) : cert.checkHost(name)));
}
