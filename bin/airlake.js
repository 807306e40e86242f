#!/usr/bin/env node
// The `airlake` executable: runs the compiled CLI (built by `npm ci` through the `prepare` script).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('airlake is not built yet: run `npm ci` (or `npm run build`) in the checkout first.\n')
  process.exit(2)
}
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
