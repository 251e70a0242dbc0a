import { runStoreConformance } from '../testing/conformance.ts'
import { openPgliteStore } from './pglite-store.ts'

runStoreConformance('pglite (in memory)', { open: () => openPgliteStore({ dataDir: 'memory://' }) })
