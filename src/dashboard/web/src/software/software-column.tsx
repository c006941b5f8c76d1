import { useEffect, useRef, useState } from 'react';
import type { Endpoint } from '../api.js';
import { useLiveEvents } from '../live.js';
import { softwareApi } from './software-api.js';

/** Requests in flight at once while a page's versions load: the browser queues more anyway. */
const PARALLEL = 6;

/** The list answer carries it with include=software; a server without it leaves it out, and the page asks. */
const carried = (e: Endpoint): string | null | undefined => e.softwareVersion;

/**
 * The software version each device on the visible list page last reported on cmx_ota: from the
 * list answer when it carries it, else one GET per row; patched by the `software.reported` live event.
 */
export function useSoftwareVersions(app: string, rows: readonly Endpoint[]): Map<string, string | null> {
  const [versions, setVersions] = useState<Map<string, string | null>>(new Map());
  const idsKey = rows.map((r) => r.endpointId).join(',');
  const request = useRef(0);

  useEffect(() => {
    const id = ++request.current;
    const known = new Map<string, string | null>();
    const missing: string[] = [];
    for (const row of rows) {
      const version = carried(row);
      if (version === undefined) missing.push(row.endpointId);
      else known.set(row.endpointId, version);
    }
    setVersions(known);
    if (missing.length === 0) return;
    let next = 0;
    const worker = async () => {
      while (next < missing.length && id === request.current) {
        const endpointId = missing[next++]!;
        try {
          const state = await softwareApi.endpoint(endpointId);
          if (id !== request.current) return;
          setVersions((current) => new Map(current).set(endpointId, state.version));
        } catch {
          // The cell stays empty; the rest of the list works without it.
        }
      }
    };
    void Promise.all(Array.from({ length: Math.min(PARALLEL, missing.length) }, worker));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the rows are compared by their IDs, not by array identity
  }, [app, idsKey]);

  useLiveEvents(
    app,
    (event) => {
      if (event.type !== 'software.reported' || event.statusCode < 200 || event.statusCode >= 300) return;
      if (!rows.some((r) => r.endpointId === event.endpointId)) return;
      setVersions((current) => new Map(current).set(event.endpointId, event.version));
    },
    () => {},
  );
  return versions;
}
