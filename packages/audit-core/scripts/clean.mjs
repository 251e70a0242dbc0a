// Empties dist/ before a pack, so that nothing left by an older build ships.
import { rmSync } from 'node:fs'

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true })
