import { useRef, useState } from 'react';
import type { EndpointListParams } from '../api.js';

/** What the selection keeps of an endpoint: its ID, and its version for per-version batch calls. */
export interface Selectable {
  endpointId: string;
  appVersion: { name: string };
}

export type ListFilters = Omit<EndpointListParams, 'offset' | 'limit'>;

/**
 * Selected endpoint IDs; kept across pages and filters until cleared or acted on. After "Select all
 * matching", `matching` holds the filters that made the selection, so a batch command can address
 * them on the server in one task; changing the selection by hand forgets them.
 */
export function useSelection() {
  const [selected, setSelected] = useState<ReadonlyMap<string, string>>(new Map());
  const [matching, setMatching] = useState<{ filters: ListFilters; count: number } | null>(null);
  const setMany = (endpoints: readonly Selectable[], on: boolean) => {
    if (endpoints.every((e) => selected.has(e.endpointId) === on)) return;
    setMatching(null);
    setSelected((current) => {
      const next = new Map(current);
      for (const e of endpoints) {
        if (on) next.set(e.endpointId, e.appVersion.name);
        else next.delete(e.endpointId);
      }
      return next;
    });
  };
  // Select-all-matching ends after an await: it must build on the selection as it is then.
  const latest = useRef(selected);
  latest.current = selected;
  const selectMatching = (endpoints: readonly Selectable[], filters: ListFilters) => {
    const next = new Map(latest.current);
    for (const e of endpoints) next.set(e.endpointId, e.appVersion.name);
    setSelected(next);
    // Endpoints selected before, outside the filters, would not be in a by-query batch.
    setMatching(next.size === endpoints.length ? { filters, count: endpoints.length } : null);
  };
  const clear = () => {
    setSelected(new Map());
    setMatching(null);
  };
  /** The selected IDs grouped by application version, as Kaa ECR's batch takes them. */
  const byVersion = (): Record<string, string[]> => {
    const groups: Record<string, string[]> = {};
    for (const [id, version] of selected) (groups[version] ??= []).push(id);
    return groups;
  };
  return { ids: [...selected.keys()], has: (id: string) => selected.has(id), setMany, selectMatching, clear, byVersion, matching };
}
