import { BACKENDS } from './backends.js';
import { controlStorageConformance } from './control-conformance.js';

for (const backend of BACKENDS) {
  controlStorageConformance(backend.name, async () => {
    const place = await backend.create();
    const store = await place.openControl();
    return {
      store,
      reopen: () => place.openControl(),
      cleanup: async () => {
        await store.close();
        await place.remove();
      },
    };
  });
}
