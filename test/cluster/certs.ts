/**
 * Certificates for the local control plane, made with the openssl CLI: one CA that signs the API server's
 * serving certificate and the client certificates, and an RSA key pair for service-account tokens.
 * SHA-256 throughout: Go refuses SHA-1 signatures on anything but roots.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (error as Error).message}`);
  }
}

export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function createCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await openssl(['genrsa', '-out', keyFile, '2048']);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-sha256',
    '-key',
    keyFile,
    '-days',
    '30',
    '-out',
    certFile,
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return { certFile, keyFile };
}

export interface LeafOptions {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: 'server' | 'client' | 'both';
}

export async function createSignedCertificate(
  dir: string,
  name: string,
  ca: CertificateAuthority,
  options: LeafOptions,
): Promise<KeyPair> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  const subject = [`/CN=${options.commonName}`, ...(options.organizations ?? []).map((o) => `/O=${o}`)].join(
    '',
  );
  const sans = [
    ...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`),
    ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  const extendedUsage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[
    options.usage
  ];
  await writeFile(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${extendedUsage}`,
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
    ].join('\n') + '\n',
  );
  await openssl(['genrsa', '-out', keyFile, '2048']);
  await openssl(['req', '-new', '-sha256', '-key', keyFile, '-subj', subject, '-out', csrFile]);
  await openssl([
    'x509',
    '-req',
    '-sha256',
    '-in',
    csrFile,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/** An RSA key pair (PEM private key and public key) for signing and verifying service-account tokens. */
export async function createServiceAccountKeys(
  dir: string,
): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const privateKeyFile = join(dir, 'service-account.key');
  const publicKeyFile = join(dir, 'service-account.pub');
  await openssl(['genrsa', '-out', privateKeyFile, '2048']);
  await openssl(['rsa', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile]);
  return { privateKeyFile, publicKeyFile };
}
