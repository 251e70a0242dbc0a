#!/usr/bin/env node
// The `audit-events` command (package.json "bin"). It lives outside dist so
// that it exists when a workspace install links bins, before any build; the
// command itself is dist/cli.js.
import { main } from '../dist/cli.js'

process.exitCode = await main(process.argv.slice(2))
