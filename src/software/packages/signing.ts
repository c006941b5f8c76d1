import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { errors } from '../../core/errors.js';
import type { Storage } from '../../storage/storage.js';

/** The settings document holding the signing secret: one for every node sharing the database. */
export const SECRET_SETTING = 'packages.url-signing-secret';
/** How long a node trusts the secret it read before reading it again (see `secret`). */
const SECRET_REFRESH_MS = 60_000;

export interface SignedQuery {
  expires: number;
  sig: string;
}

/**
 * Signed package URLs: HMAC-SHA256 over the application, the version and the expiry, with a secret
 * generated once and kept in the settings store, so a URL one node hands out verifies on every node
 * (and after a restart). Whoever holds the URL may download until it expires: it is given only to
 * the device, over its own authenticated cmx_ota channel.
 */
export class UrlSigner {
  private cached: { secret: Buffer; readAt: number } | undefined;
  private loading: Promise<Buffer> | undefined;

  constructor(
    private readonly settings: Pick<Storage, 'getSetting' | 'putSetting'>,
    private readonly clock: Clock,
  ) {}

  async sign(applicationName: string, version: string, expires: number): Promise<string> {
    return mac(await this.secret(), applicationName, version, expires);
  }

  /** Rejects PACKAGE_SIGNATURE_INVALID or PACKAGE_URL_EXPIRED; resolves when the URL is good now. */
  async verify(applicationName: string, version: string, query: { expires?: string; sig?: string }): Promise<void> {
    const expires = Number(query.expires);
    const sig = query.sig ?? '';
    if (!/^\d{1,12}$/.test(query.expires ?? '') || !/^[A-Za-z0-9_-]{43}$/.test(sig)) throw errors.packageSignatureInvalid();
    const matches = (secret: Buffer) => timingSafeEqual(Buffer.from(mac(secret, applicationName, version, expires)), Buffer.from(sig));
    // Two nodes starting at once may both have made a secret: one of them lost, and this node may
    // hold the loser's. A mismatch reads the stored secret again before refusing.
    if (!matches(await this.secret()) && !matches(await this.secret(true))) throw errors.packageSignatureInvalid();
    if (expires * 1000 <= this.clock.now()) throw errors.packageUrlExpired(new Date(expires * 1000).toISOString());
  }

  private async secret(fresh = false): Promise<Buffer> {
    const cached = this.cached;
    if (!fresh && cached && this.clock.now() - cached.readAt < SECRET_REFRESH_MS) return cached.secret;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<Buffer> {
    let stored = await this.settings.getSetting(SECRET_SETTING);
    if (typeof stored !== 'string') {
      await this.settings.putSetting(SECRET_SETTING, randomBytes(32).toString('base64url'));
      // Read back: of two nodes writing at once, both go on with the one that stayed.
      stored = await this.settings.getSetting(SECRET_SETTING);
    }
    if (typeof stored !== 'string') throw errors.internal(new Error('the package URL signing secret could not be stored'));
    const secret = Buffer.from(stored, 'base64url');
    this.cached = { secret, readAt: this.clock.now() };
    return secret;
  }
}

function mac(secret: Buffer, applicationName: string, version: string, expires: number): string {
  // Application names never hold a newline (names.ts) and expires is digits: the fields cannot shift into each other.
  return createHmac('sha256', secret).update(`${applicationName}\n${version}\n${expires}`).digest('base64url');
}
