#!/usr/bin/env node
// Completes package-lock.json after `npm install`: the registry mirror this project is built against does
// not carry every platform's optional binary (biome, rollup and duckdb publish one package per OS and
// CPU), so npm leaves the ones it cannot fetch out of the lock, and `npm ci` then refuses the lock as out
// of sync. This adds each missing optional platform package back as an optional entry at the version
// its parent pins; `npm ci` skips them on platforms they are not for. Run it after changing dependencies.
import { readFileSync, writeFileSync } from 'node:fs'

const path = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(path, 'utf8'))
const packages = lock.packages
let added = 0
for (const entry of Object.values(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`
    if (packages[key]) continue
    packages[key] = { version: String(spec).replace(/^[\^~=]/, ''), optional: true }
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
)
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`package-lock.json: ${added} optional platform package${added === 1 ? '' : 's'} added`)
