/**
 * The certificate the metrics endpoint serves: tls.crt and tls.key from a folder (a mounted Secret, e.g. the
 * one OpenShift's service CA fills for a Service annotated `service.beta.openshift.io/serving-cert-secret-name`,
 * or cert-manager's), picked up again when the files change; a self-signed one while the folder is not given,
 * empty or unusable. A pair is used only when the key matches the certificate, so a rotation caught half
 * written keeps the previous pair until both files are new.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  createServingCertificate,
  type PemPair,
} from '../webhook/certificates.js';
import { silentLogger, type Logger } from './logging.js';

export const certFileName = 'tls.crt';
export const keyFileName = 'tls.key';

export interface ServingCertificateOptions {
  /** Folder holding tls.crt and tls.key; undefined means self-signed. */
  readonly certDir?: string | undefined;
  readonly logger?: Logger;
  /** Besides watching the folder, how often the files are read again (watches can miss events); default 30 s. */
  readonly pollMs?: number;
}

export type CertificateOrigin = 'files' | 'self-signed';

/** The files' pair when both exist and belong together; otherwise why not. */
export function readPair(certDir: string): { pair: PemPair } | { problem: string } {
  const certFile = join(certDir, certFileName);
  const keyFile = join(certDir, keyFileName);
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    return { problem: `${certDir} has no ${certFileName} and ${keyFileName}` };
  }
  try {
    const certPem = readFileSync(certFile, 'utf8');
    const keyPem = readFileSync(keyFile, 'utf8');
    if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) {
      return { problem: `${keyFileName} does not belong to ${certFileName} in ${certDir}` };
    }
    return { pair: { certPem, keyPem } };
  } catch (error) {
    return { problem: `cannot use ${certDir}: ${(error as Error).message}` };
  }
}

/** A self-signed pair (through a throwaway CA) for this host's names and loopback. */
export function selfSignedPair(): PemPair {
  const ca = createCertificateAuthority(`metallb-metrics-${hostname()}`);
  return createServingCertificate(ca, {
    dnsNames: [...new Set([hostname(), 'localhost'])],
    ipAddresses: ['127.0.0.1', '::1'],
  });
}

export class ServingCertificate {
  private pair: PemPair;
  private origin: CertificateOrigin | undefined;
  private selfSigned: PemPair | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly options: ServingCertificateOptions) {
    this.log = options.logger ?? silentLogger();
    const loaded = this.load();
    this.pair = loaded.pair;
    this.origin = loaded.origin;
  }

  get current(): PemPair {
    return this.pair;
  }

  get source(): CertificateOrigin {
    return this.origin ?? 'self-signed';
  }

  /** Starts following the folder; `onChange` gets each new pair. Nothing to follow without a folder. */
  watch(onChange: (pair: PemPair) => void): void {
    const certDir = this.options.certDir;
    if (!certDir) return;
    const check = (): void => {
      const loaded = this.load();
      if (loaded.pair.certPem === this.pair.certPem && loaded.pair.keyPem === this.pair.keyPem) return;
      this.pair = loaded.pair;
      this.origin = loaded.origin;
      this.log.info({ certDir, origin: loaded.origin }, 'metrics serving certificate changed');
      onChange(loaded.pair);
    };
    const soon = (): void => {
      // A Secret volume update swaps a symlink and touches several entries: read once they settle.
      clearTimeout(this.debounce);
      this.debounce = setTimeout(check, 200);
      this.debounce.unref();
    };
    try {
      // The folder itself: mounted Secrets replace files by renaming, which a watch on a file would lose.
      this.watcher = watch(certDir, soon);
      this.watcher.on('error', (error) =>
        this.log.warn({ err: error, certDir }, 'watching the certificate folder failed; polling only'),
      );
    } catch (error) {
      this.log.warn({ err: error, certDir }, 'cannot watch the certificate folder; polling only');
    }
    this.poll = setInterval(check, this.options.pollMs ?? 30_000);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }

  private load(): { pair: PemPair; origin: CertificateOrigin } {
    const certDir = this.options.certDir;
    if (certDir) {
      const read = readPair(certDir);
      if ('pair' in read) return { pair: read.pair, origin: 'files' };
      // Keep serving what worked: a pair half rotated must not replace a good one.
      if (this.origin === 'files') return { pair: this.pair, origin: 'files' };
      if (this.origin !== 'self-signed') {
        this.log.warn({ certDir, problem: read.problem }, 'serving metrics with a self-signed certificate');
      }
    }
    this.selfSigned ??= selfSignedPair();
    return { pair: this.selfSigned, origin: 'self-signed' };
  }
}
