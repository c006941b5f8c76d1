import { accountStorageConformance } from './accounts-conformance.js';
import { BACKENDS } from './backends.js';

for (const backend of BACKENDS) {
  accountStorageConformance(backend.name, async () => {
    const place = await backend.create();
    const store = await place.openAccounts();
    return {
      store,
      reopen: () => place.openAccounts(),
      cleanup: async () => {
        await store.close();
        await place.remove();
      },
    };
  });
}
