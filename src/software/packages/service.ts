import type { Readable } from 'node:stream';
import type { EventBus, TetherEvent } from '../../bus/bus.js';
import type { Clock } from '../../core/clock.js';
import { errors } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Credentials } from '../../core/services.js';
import type { PackageInfo } from '../../core/software.js';
import type { PackageKey, PackageStorage, StoredPackage } from '../../storage/packages.js';
import type { Storage } from '../../storage/storage.js';
import { UrlSigner } from './signing.js';

export const DEFAULT_PACKAGE_MAX_MB = 512;
export const DEFAULT_PACKAGE_URL_TTL_SECONDS = 86_400;
/** Where devices download: the signed URL and the token both lead here. */
export const DEVICE_DOWNLOAD_PATH = '/otao/api/v1/packages';

/** Whether a software version exists: the software service answers it (kept narrow so either can be built first). */
export interface SoftwareVersions {
  exists(applicationName: string, version: string): Promise<boolean>;
}

/** What a device gets beside the specification on cmx_ota (`config.package`). */
export interface DevicePackage {
  url: string;
  sha256: string;
  size: number;
  fileName: string;
}

/** How a device proves it may download: its endpoint token, or a signed URL. */
export interface DownloadCredentials {
  token?: string | undefined;
  expires?: string | undefined;
  sig?: string | undefined;
}

export interface UploadMeta {
  fileName?: string | undefined;
  contentType?: string | undefined;
  /** The request's Content-Length, when it sent one: too large is refused before a byte is read. */
  contentLength?: number | undefined;
}

export interface PackageServiceDeps {
  store: PackageStorage;
  /** Keeps the URL signing secret every node shares. */
  settings: Pick<Storage, 'getSetting' | 'putSetting'>;
  versions: SoftwareVersions;
  credentials: Pick<Credentials, 'resolveToken'>;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** Largest package in bytes (TETHER_PACKAGE_MAX_MB). */
  maxBytes?: number;
  /** Life of a device's signed URL (TETHER_PACKAGE_URL_TTL_SECONDS). */
  urlTtlSeconds?: number;
  /** How devices reach this server (TETHER_PUBLIC_URL): when set, the base of every URL handed out. */
  publicUrl?: string;
}

export function presentPackage(pkg: StoredPackage): PackageInfo {
  return { fileName: pkg.fileName, contentType: pkg.contentType, size: pkg.size, sha256: pkg.sha256, uploadedAt: pkg.uploadedAt };
}

const FILE_NAME = /^[^/\\\u0000-\u001f\u007f"]{1,255}$/;

/**
 * Packages hosted by Tether (Kaa OTAO, issue 14; docs/software.md): uploads streamed into the
 * package store with a size limit, downloads authorized by an endpoint token or a signed URL, and
 * what a device is told about the package of the version it is offered.
 */
export class PackageService {
  readonly maxBytes: number;
  readonly urlTtlSeconds: number;
  private readonly signer: UrlSigner;
  private readonly logger: Logger;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: PackageServiceDeps) {
    this.maxBytes = deps.maxBytes ?? DEFAULT_PACKAGE_MAX_MB * 1024 * 1024;
    this.urlTtlSeconds = deps.urlTtlSeconds ?? DEFAULT_PACKAGE_URL_TTL_SECONDS;
    this.signer = new UrlSigner(deps.settings, deps.clock);
    this.logger = deps.logger.child({ part: 'packages' });
    // Every node hears it; on a shared database the second delete finds nothing.
    this.unsubscribe = deps.bus.subscribe((event: TetherEvent) => {
      if (event.type !== 'application.deleted') return;
      deps.store.deleteApplication(event.applicationName).catch((err: unknown) => this.logger.error({ err, application: event.applicationName }, 'packages of a deleted application not deleted'));
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** Stores the body as the version's package (replacing the one it had once it is stored whole). */
  async upload(key: PackageKey, body: AsyncIterable<Uint8Array>, meta: UploadMeta = {}): Promise<StoredPackage> {
    if (meta.contentLength !== undefined && meta.contentLength > this.maxBytes) throw errors.packageTooLarge(this.maxBytes);
    const fileName = meta.fileName ?? `${key.applicationName}-${key.version}.bin`;
    if (!FILE_NAME.test(fileName)) throw errors.validation(`x-file-name ${JSON.stringify(fileName.slice(0, 300))} is not a usable file name; use 1-255 characters without "/", "\\", quotes or control characters`);
    if (!(await this.deps.versions.exists(key.applicationName, key.version))) throw errors.softwareNotFound(key.applicationName, key.version);
    const stored = await this.deps.store.put(
      {
        ...key,
        fileName,
        contentType: meta.contentType ?? 'application/octet-stream',
        uploadedAt: this.deps.clock.iso(),
        maxBytes: this.maxBytes,
      },
      body,
    );
    this.logger.info({ application: key.applicationName, version: key.version, size: stored.size, sha256: stored.sha256 }, 'package stored');
    return stored;
  }

  /** Rejects PACKAGE_NOT_FOUND. */
  async get(key: PackageKey): Promise<StoredPackage> {
    const pkg = await this.deps.store.get(key);
    if (!pkg) throw errors.packageNotFound(key.applicationName, key.version);
    return pkg;
  }

  find(key: PackageKey): Promise<StoredPackage | undefined> {
    return this.deps.store.get(key);
  }

  /** The package of a version as operators see it in the software record, or undefined. */
  async info(applicationName: string, version: string): Promise<PackageInfo | undefined> {
    const pkg = await this.deps.store.get({ applicationName, version });
    return pkg && presentPackage(pkg);
  }

  /** Bytes `start`..`end` (inclusive) of a package got from `get`. */
  open(pkg: StoredPackage, start: number, end: number): Readable {
    return this.deps.store.read(pkg, start, end);
  }

  /** Rejects PACKAGE_NOT_FOUND when the version has none. */
  async remove(key: PackageKey): Promise<void> {
    if (!(await this.deps.store.delete(key))) throw errors.packageNotFound(key.applicationName, key.version);
  }

  /** For the software service when a version goes: nothing to do is not an error. */
  async removeIfAny(key: PackageKey): Promise<boolean> {
    return this.deps.store.delete(key);
  }

  /**
   * Whether a device may download the package: a signed URL that verifies and has not expired, or
   * an endpoint token of the application that is neither suspended nor revoked. Rejects with the
   * error that says which and what to do.
   */
  async authorizeDownload(key: PackageKey, credentials: DownloadCredentials): Promise<void> {
    if (credentials.sig !== undefined || credentials.expires !== undefined) {
      await this.signer.verify(key.applicationName, key.version, credentials);
      return;
    }
    if (credentials.token === undefined || credentials.token === '') throw errors.packageTokenMissing();
    // Tokens are per application: a token of another application's endpoint is unknown here.
    await this.deps.credentials.resolveToken(key.applicationName, credentials.token);
  }

  /** A download URL for the package that needs no token, valid for `ttlSeconds`. */
  async signedUrl(key: PackageKey, baseUrl: string, ttlSeconds = this.urlTtlSeconds): Promise<{ url: string; expiresAt: string }> {
    const expires = Math.floor(this.deps.clock.now() / 1000) + ttlSeconds;
    const sig = await this.signer.sign(key.applicationName, key.version, expires);
    const base = (this.deps.publicUrl ?? baseUrl).replace(/\/+$/, '');
    const path = `${DEVICE_DOWNLOAD_PATH}/${encodeURIComponent(key.applicationName)}/${encodeURIComponent(key.version)}`;
    return { url: `${base}${path}?expires=${expires}&sig=${sig}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /**
   * What a device offered `version` is told about its package (`config.package` on cmx_ota), or
   * undefined when the version has none. `baseUrl` is this node's HTTP address (a device asks over
   * MQTT, which has no Host to go by); the publicUrl setting, when set, wins.
   */
  async describeForDevice(applicationName: string, version: string, baseUrl: string): Promise<DevicePackage | undefined> {
    const key = { applicationName, version };
    const pkg = await this.deps.store.get(key);
    if (!pkg) return undefined;
    const { url } = await this.signedUrl(key, baseUrl);
    return { url, sha256: pkg.sha256, size: pkg.size, fileName: pkg.fileName };
  }
}
