import { BACKENDS } from './backends.js';
import { softwareStorageConformance } from './software-conformance.js';

for (const backend of BACKENDS) {
  softwareStorageConformance(backend.name, async () => {
    const place = await backend.create();
    const store = await place.openSoftware();
    return {
      store,
      reopen: () => place.openSoftware(),
      cleanup: async () => {
        await store.close();
        await place.remove();
      },
    };
  });
}
