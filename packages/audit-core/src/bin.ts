#!/usr/bin/env node
// The `audit-events` command (package.json "bin").
import { main } from './cli.ts'

process.exitCode = await main(process.argv.slice(2))
