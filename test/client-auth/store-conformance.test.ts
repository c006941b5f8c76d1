import { BACKENDS } from '../storage/backends.js';
import { clientCredentialStoreConformance } from './store-conformance.js';

// One run per kind of database: the SQLite variants differ only in the main storage's settings.
for (const backend of BACKENDS.filter((b, i) => BACKENDS.findIndex((o) => o.name.split(' ')[0] === b.name.split(' ')[0]) === i)) {
  clientCredentialStoreConformance(backend.name.split(' ')[0]!, async () => {
    const place = await backend.create();
    const store = await place.openCredentials();
    return {
      store,
      reopen: () => place.openCredentials(),
      cleanup: async () => {
        await store.close();
        await place.remove();
      },
    };
  });
}
