import { BACKENDS } from './backends.js';
import { rolloutStorageConformance } from './rollouts-conformance.js';

for (const backend of BACKENDS) {
  rolloutStorageConformance(backend.name, async () => {
    const place = await backend.create();
    const opened: Array<{ close(): Promise<void> }> = [];
    const openOne = async () => {
      const store = await place.openRollouts();
      opened.push(store);
      return store;
    };
    const store = await openOne();
    return {
      store,
      reopen: openOne,
      cleanup: async () => {
        for (const s of opened) await s.close();
        await place.remove();
      },
    };
  });
}
