import { api } from '../api.js';
import { ErrorMessage, useAction } from '../ui.js';
import type { ListFilters, Selectable } from './selection.js';

/** Endpoints one "select all matching" takes at most: bulk actions then run 1,000 per request. */
export const MAX_MATCHING = 100_000;
const PAGE = 1000;

/** Every endpoint the list's filters match (ID and version), in the list's order, page by page. */
async function matchingIds(filters: ListFilters, total: number): Promise<Selectable[]> {
  const ids: Selectable[] = [];
  const wanted = Math.min(total, MAX_MATCHING);
  for (let offset = 0; offset < wanted; offset += PAGE) {
    const page = await api.endpoints({ ...filters, offset, limit: Math.min(PAGE, wanted - offset) });
    for (const endpoint of page.content) ids.push({ endpointId: endpoint.endpointId, appVersion: endpoint.appVersion });
    if (page.content.length === 0) break;
  }
  return ids;
}

/**
 * Shown when every endpoint on the page is selected but more match the filters: extends the
 * selection to all of them (as mail clients do), so a bulk action can cover a whole filtered fleet.
 */
export function SelectAllMatching({ filters, total, onSelect }: { filters: ListFilters; total: number; onSelect: (endpoints: Selectable[]) => void }) {
  const action = useAction();
  const label = total > MAX_MATCHING ? `Select the first ${MAX_MATCHING.toLocaleString('en')} of ${total.toLocaleString('en')} matching endpoints` : `Select all ${total.toLocaleString('en')} matching endpoints`;
  return (
    <p className="select-matching" role="status">
      Every endpoint on this page is selected.{' '}
      <button
        type="button"
        className="link"
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            onSelect(await matchingIds(filters, total));
          })
        }
      >
        {action.busy ? 'Selecting…' : label}
      </button>
      <ErrorMessage error={action.error} />
    </p>
  );
}
