import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { errors, toTetherError } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export interface TlsFiles {
  /** PEM certificate (chain: the server certificate first). */
  cert: string;
  /** PEM private key, unencrypted. */
  key: string;
  /** PEM CA bundle for client certificates; when set, clients are asked for a certificate. */
  ca?: string;
}

/** How the operator sets each file, for messages, e.g. `{ flag: '--tls-cert', env: 'TETHER_TLS_CERT' }`. */
export type TlsFileSettings = Record<keyof TlsFiles, { flag: string; env: string }>;

export interface TlsCertificateInfo {
  subject: string;
  validTo: string;
  fingerprint256: string;
}

interface Material {
  context: SecureContextOptions;
  certificate: TlsCertificateInfo;
}

/** A server whose secure context can be swapped: tls.Server, and https.Server which extends it. */
export interface ReloadableServer {
  setSecureContext(options: SecureContextOptions): void;
}

const LABELS: Record<keyof TlsFiles, string> = { cert: 'certificate', key: 'private key', ca: 'CA' };

/**
 * The server's TLS certificate, key and client CA, read from files. Listeners are built from
 * `serverOptions()` and registered with `attach`; `reload()` re-reads the files and gives the
 * attached listeners the new context, which applies to new connections only (existing ones keep
 * the session they negotiated). A failed reload keeps the current context.
 */
export class TlsCredentials {
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly servers = new Set<ReloadableServer>();

  private constructor(
    private readonly files: TlsFiles,
    private readonly settings: TlsFileSettings,
    private material: Material,
    private readonly logger: Logger,
  ) {}

  /** Reads and checks the files; rejects with a one-line TetherError naming the setting to fix. */
  static async load(files: TlsFiles, settings: TlsFileSettings, logger: Logger): Promise<TlsCredentials> {
    const log = logger.child({ component: 'tls' });
    const material = await readMaterial(files, settings);
    warnIfExpired(material.certificate, log);
    return new TlsCredentials(files, settings, material, log);
  }

  get requestsClientCertificates(): boolean {
    return this.files.ca !== undefined;
  }

  get certificate(): TlsCertificateInfo {
    return this.material.certificate;
  }

  /**
   * Options for tls.createServer / https.createServer. With a CA, clients are asked for a
   * certificate but a missing or unverified one does not fail the handshake: the MQTT layer sees
   * the result (TransportPeer) and refuses with CONNACK "not authorized", which a device can log,
   * where a TLS alert would only read as a network error. Devices without certificates (token only)
   * keep working unless client authentication requires one.
   */
  serverOptions(): TlsOptions {
    return {
      ...this.material.context,
      ...(this.requestsClientCertificates ? { requestCert: true, rejectUnauthorized: false } : {}),
    };
  }

  attach(server: ReloadableServer): () => void {
    this.servers.add(server);
    return () => this.servers.delete(server);
  }

  /** Re-reads the files (SIGHUP). Resolves with the new certificate; rejects with a TetherError, keeping the old context. */
  reload(): Promise<TlsCertificateInfo> {
    const run = async (): Promise<TlsCertificateInfo> => {
      let material: Material;
      try {
        material = await readMaterial(this.files, this.settings);
      } catch (err) {
        const error: TetherError = toTetherError(err);
        this.logger.error({ code: error.code }, `TLS reload failed, still using the previous certificate: ${error.message}`);
        throw error;
      }
      for (const server of this.servers) server.setSecureContext(material.context);
      this.material = material;
      warnIfExpired(material.certificate, this.logger);
      this.logger.info({ ...material.certificate }, 'TLS certificate reloaded; new connections use it');
      return material.certificate;
    };
    const result = this.reloading.then(run, run);
    this.reloading = result.catch(() => {});
    return result;
  }
}

async function readMaterial(files: TlsFiles, settings: TlsFileSettings): Promise<Material> {
  const [certPem, keyPem, caPem] = await Promise.all([
    readPem(files, 'cert', settings),
    readPem(files, 'key', settings),
    files.ca !== undefined ? readPem(files, 'ca', settings) : undefined,
  ]);
  const chain = parseCertificates(certPem, 'cert', files, settings);
  const leaf = chain[0]!;
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const encrypted = (err as { code?: string }).code === 'ERR_MISSING_PASSPHRASE';
    throw unusable('key', files, settings, encrypted ? 'it is encrypted; give an unencrypted key' : 'it is not a PEM private key');
  }
  if (!leaf.checkPrivateKey(key)) {
    throw errors.tlsMaterialInvalid(
      `the private key from ${describe('key', files, settings)} does not belong to the certificate from ${describe('cert', files, settings)}`,
    );
  }
  if (caPem !== undefined) parseCertificates(caPem, 'ca', files, settings);
  const context: SecureContextOptions = { cert: certPem, key: keyPem, ...(caPem !== undefined ? { ca: caPem } : {}) };
  try {
    tls.createSecureContext(context);
  } catch (err) {
    throw errors.tlsMaterialInvalid(`OpenSSL refuses the certificate and key (${(err as Error).message}); check ${settings.cert.flag} and ${settings.key.flag}`);
  }
  return {
    context,
    certificate: { subject: leaf.subject.replaceAll('\n', ', '), validTo: new Date(leaf.validTo).toISOString(), fingerprint256: leaf.fingerprint256 },
  };
}

async function readPem(files: TlsFiles, which: keyof TlsFiles, settings: TlsFileSettings): Promise<string> {
  const file = files[which]!;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'the file does not exist'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : code === 'EISDIR' ? 'it is a directory'
      : `it cannot be read (${code ?? 'unknown error'})`;
    const { flag, env } = settings[which];
    throw errors.tlsFileUnreadable(LABELS[which], file, problem, flag, env);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseCertificates(pem: string, which: 'cert' | 'ca', files: TlsFiles, settings: TlsFileSettings): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw unusable(which, files, settings, 'it holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw unusable(which, files, settings, `certificate ${i + 1} in it is damaged`);
    }
  });
}

function describe(which: keyof TlsFiles, files: TlsFiles, settings: TlsFileSettings): string {
  return `${settings[which].flag} (${files[which]})`;
}

function unusable(which: keyof TlsFiles, files: TlsFiles, settings: TlsFileSettings, problem: string): TetherError {
  return errors.tlsMaterialInvalid(`the ${LABELS[which]} file from ${describe(which, files, settings)} cannot be used: ${problem}`);
}

function warnIfExpired(certificate: TlsCertificateInfo, logger: Logger): void {
  if (Date.parse(certificate.validTo) < Date.now()) {
    logger.warn({ ...certificate }, 'TLS certificate has expired: clients that verify it will refuse to connect');
  }
}
