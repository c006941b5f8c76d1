import { useCallback, useState } from 'react';

/** Selected endpoint IDs; kept across pages and filters until cleared or acted on. */
export function useSelection() {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const setMany = useCallback((ids: string[], on: boolean) => {
    setSelected((current) => {
      const next = new Set(current);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  }, []);
  const clear = useCallback(() => setSelected(new Set()), []);
  return { ids: [...selected], has: (id: string) => selected.has(id), setMany, clear };
}
