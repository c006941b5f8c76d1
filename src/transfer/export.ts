import { stringify } from 'csv-stringify/sync';
import type { EndpointQuery, EndpointRecord } from '../core/types.js';
import type { Services } from '../core/services.js';
import type { Storage } from '../storage/storage.js';
import { EXPORT_COLUMNS, METADATA_COLUMN_PREFIX, encodeCell } from './cells.js';

const PAGE = 1000;

/** Pages through the query: one page of endpoints in memory at a time, whatever the total. */
async function* pages(services: Services, query: EndpointQuery): AsyncGenerator<EndpointRecord[]> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await services.registry.listEndpoints({ ...query, offset, limit: PAGE, includeMetadata: true });
    if (page.content.length > 0) yield page.content;
    if (page.content.length < PAGE) return;
  }
}

/** CSV text chunks: the header (metadata columns: every key of the application, sorted), then one chunk per page. */
export async function* exportCsv(services: Services, storage: Storage, query: EndpointQuery & { applicationName: string }): AsyncGenerator<string> {
  const keys = await storage.metadataKeysOfApplication(query.applicationName);
  yield stringify([[...EXPORT_COLUMNS, ...keys.map((k) => `${METADATA_COLUMN_PREFIX}${k}`)]]);
  for await (const endpoints of pages(services, query)) {
    const rows = endpoints.map((e) => {
      const metadata = e.metadata ?? {};
      return [e.endpointId, e.appVersionName, e.createdDate, String(e.connected), e.lastSeen ?? '', ...keys.map((k) => encodeCell(metadata[k]))];
    });
    yield stringify(rows);
  }
}

/** A JSON array, one endpoint (with its metadata) per line. */
export async function* exportJson(services: Services, query: EndpointQuery): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const endpoints of pages(services, query)) {
    const parts = endpoints.map((e) => {
      const item = {
        endpointId: e.endpointId,
        appVersion: e.appVersionName,
        applicationName: e.applicationName,
        createdDate: e.createdDate,
        connected: e.connected,
        lastSeen: e.lastSeen ?? null,
        metadata: e.metadata ?? {},
      };
      const text = `${first ? '\n' : ',\n'}${JSON.stringify(item)}`;
      first = false;
      return text;
    });
    yield parts.join('');
  }
  yield '\n]\n';
}
