import { BACKENDS } from './backends.js';
import { TEST_CHUNK_SIZE, packageStorageConformance } from './packages-conformance.js';

for (const backend of BACKENDS) {
  packageStorageConformance(backend.name, async () => {
    const place = await backend.create();
    // Pieces smaller than chunks: downloads read a chunk in several pieces, as the tuned server may.
    const open = () => place.openPackages({ chunkSize: TEST_CHUNK_SIZE, pieceSize: 400 });
    const store = await open();
    return {
      store,
      reopen: open,
      cleanup: async () => {
        await store.close();
        await place.remove();
      },
    };
  });
}
