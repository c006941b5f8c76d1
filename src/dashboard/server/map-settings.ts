import type { FastifyInstance } from 'fastify';
import { errors } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import type { Storage } from '../../storage/storage.js';
import type { MapSettings } from './model.js';

const MAP_SETTING_KEY = 'dashboard.map';
const DEFAULT_MAP: MapSettings = { tileUrl: '', attribution: '' };

const mapSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tileUrl'],
  properties: {
    tileUrl: { type: 'string', maxLength: 500 },
    attribution: { type: 'string', maxLength: 300 },
  },
} as const;

/**
 * The Content-Security-Policy source that lets the page load the tiles: the template's origin,
 * with a `{s}` subdomain placeholder as a wildcard. Throws a user-facing error for anything that
 * is not an http(s) tile template, so a typo is reported when saved, not as blank tiles later.
 */
export function tileImageSource(tileUrl: string): string {
  const problem = 'tileUrl must be an http(s) URL template with {z}, {x} and {y}, e.g. https://tiles.example.com/{z}/{x}/{y}.png';
  const match = /^(https?):\/\/([^/?#]+)\//.exec(tileUrl);
  if (!match || !['{z}', '{x}', '{y}'].every((p) => tileUrl.includes(p))) throw errors.validation(problem);
  const host = match[2]!.replace(/^\{s\}\./, '*.');
  if (!/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) throw errors.validation(problem);
  return `${match[1]}://${host}`;
}

/**
 * Where the Endpoint Location map gets its tiles: one settings document for every operator.
 * Kept in memory too, because every page load's CSP header needs it.
 */
export class MapSettingsStore {
  private current: MapSettings = { ...DEFAULT_MAP };

  private constructor(private readonly storage: Storage) {}

  static async load(storage: Storage): Promise<MapSettingsStore> {
    const store = new MapSettingsStore(storage);
    const doc = await storage.getSetting(MAP_SETTING_KEY);
    if (doc && typeof doc === 'object' && !Array.isArray(doc) && typeof doc.tileUrl === 'string') {
      const tileUrl = doc.tileUrl;
      try {
        if (tileUrl) tileImageSource(tileUrl);
        store.current = { tileUrl, attribution: typeof doc.attribution === 'string' ? doc.attribution : '' };
      } catch {
        // A stored URL that no longer passes the check is ignored: the map shows the plain background.
      }
    }
    return store;
  }

  get(): MapSettings {
    return { ...this.current };
  }

  async put(input: { tileUrl: string; attribution?: string }): Promise<MapSettings> {
    const tileUrl = input.tileUrl.trim();
    if (tileUrl) tileImageSource(tileUrl);
    const next: MapSettings = { tileUrl, attribution: (input.attribution ?? '').trim() };
    await this.storage.putSetting(MAP_SETTING_KEY, { ...next } as JsonValue);
    this.current = next;
    return this.get();
  }

  /** Extra `img-src` sources for the SPA's Content-Security-Policy. */
  imageSources(): string[] {
    return this.current.tileUrl ? [tileImageSource(this.current.tileUrl)] : [];
  }
}

/** GET/PUT /dashboard/api/map; registered in the dashboard's scope, behind its session check. */
export function registerMapRoutes(app: FastifyInstance, store: MapSettingsStore): void {
  app.get('/dashboard/api/map', async () => store.get());
  app.put<{ Body: { tileUrl: string; attribution?: string } }>('/dashboard/api/map', { schema: { body: mapSchema } }, async (request) => store.put(request.body));
}
