import { BACKENDS } from './backends.js';
import { storageConformance } from './conformance.js';

for (const backend of BACKENDS) {
  storageConformance(backend.name, async () => {
    const place = await backend.create();
    const storage = await place.openStorage();
    return {
      storage,
      reopen: () => place.openStorage(),
      cleanup: async () => {
        await storage.close();
        await place.remove();
      },
    };
  });
}
