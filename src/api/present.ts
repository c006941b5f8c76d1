/** Domain records -> the Kaa-shaped JSON the API returns. */
import type { Services } from '../core/services.js';
import type { AppVersion, EndpointRecord, Iso, Metadata, Page, TokenRecord } from '../core/types.js';

export interface EndpointView {
  endpointId: string;
  appVersion: { name: string; registeredDate: Iso | null };
  applicationName: string;
  createdDate: Iso;
  metadataUpdatedDate: Iso | null;
  connected: boolean;
  connectivityTs: Iso | null;
  lastConnectedDate: Iso | null;
  lastDisconnectedDate: Iso | null;
  lastSeen: Iso | null;
  metadata?: Metadata;
  /** With include=software: what the device last reported running on cmx_ota. */
  softwareVersion?: string | null;
}

export function endpointView(e: EndpointRecord, version: AppVersion | undefined): EndpointView {
  const view: EndpointView = {
    endpointId: e.endpointId,
    appVersion: { name: e.appVersionName, registeredDate: version?.registeredDate ?? null },
    applicationName: e.applicationName,
    createdDate: e.createdDate,
    metadataUpdatedDate: e.metadataUpdatedDate,
    connected: e.connected,
    connectivityTs: e.connectivityTs,
    lastConnectedDate: e.lastConnectedDate,
    lastDisconnectedDate: e.lastDisconnectedDate,
    lastSeen: e.lastSeen,
  };
  if (e.metadata !== undefined) view.metadata = e.metadata;
  return view;
}

/** Looks each version up once per response (versions are served from memory anyway). */
export function versionLookup(services: Services): (name: string) => Promise<AppVersion | undefined> {
  const seen = new Map<string, Promise<AppVersion | undefined>>();
  return (name) => {
    let found = seen.get(name);
    if (!found) {
      found = services.applications.getVersion(name).catch(() => undefined);
      seen.set(name, found);
    }
    return found;
  };
}

export async function endpointViews(services: Services, records: EndpointRecord[]): Promise<EndpointView[]> {
  const lookup = versionLookup(services);
  return Promise.all(records.map(async (e) => endpointView(e, await lookup(e.appVersionName))));
}

/** Never exposes tokenHash (the response schema would drop it too). */
export function tokenView(t: TokenRecord) {
  return {
    tokenId: t.tokenId,
    endpointId: t.endpointId,
    applicationName: t.applicationName,
    status: t.status,
    createdDate: t.createdDate,
    statusUpdatedDate: t.statusUpdatedDate,
    hint: t.hint,
  };
}

/** include=software: each view gets the version its device runs, in one read for the page. */
export async function withSoftwareVersions(views: EndpointView[], software: SoftwareVersions | undefined): Promise<EndpointView[]> {
  if (!software || views.length === 0) return views;
  const versions = await software.currentVersions(views.map((v) => v.endpointId));
  for (const view of views) view.softwareVersion = versions.get(view.endpointId) ?? null;
  return views;
}

/** The part of the software service (src/software) the endpoint routes read. */
export interface SoftwareVersions {
  currentVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>>;
}

/** Spring Data's page shape, as Kaa's REST clients read it (ECR statuses, OTAO history, rollouts). */
export function springPage<T>(page: Page<T>, offset: number, limit: number) {
  const totalPages = Math.ceil(page.totalElements / limit);
  const number = Math.floor(offset / limit);
  return {
    content: page.content,
    totalElements: page.totalElements,
    totalPages,
    number,
    size: limit,
    numberOfElements: page.content.length,
    first: offset === 0,
    last: offset + page.content.length >= page.totalElements,
    empty: page.content.length === 0,
  };
}
