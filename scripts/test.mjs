#!/usr/bin/env node
// `npm test`: the import-boundary check, then every test file on Node's test runner (TypeScript through tsx).
// Tiers: unit tests sit beside the code (src/**/*.test.ts); contract, integration, end-to-end and
// browser tests live in test/. `--tier unit` runs only the first; `--grep PATTERN` narrows by file name.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const args = process.argv.slice(2)
const tier = args.includes('--tier') ? args[args.indexOf('--tier') + 1] : 'all'
const grep = args.includes('--grep') ? new RegExp(args[args.indexOf('--grep') + 1]) : undefined

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* walk(path)
    else if (name.endsWith('.test.ts')) yield relative(process.cwd(), path)
  }
}

const roots = tier === 'unit' ? ['src'] : ['src', 'test']
const files = roots
  .flatMap((root) => [...walk(root)])
  .filter((f) => !grep || grep.test(f))
  .sort()
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

if (!grep) {
  const boundaries = spawnSync('npx', ['depcruise', 'src', '--config', '.dependency-cruiser.cjs'], {
    stdio: 'inherit',
  })
  if (boundaries.status !== 0) {
    console.error('import boundaries broken: see docs/decisions/001-layout.md')
    process.exit(1)
  }
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files],
  { stdio: 'inherit', env: { ...process.env, AIRLAKE_LOG_LEVEL: process.env.AIRLAKE_LOG_LEVEL ?? 'silent' } },
)
process.exit(result.status ?? 1)
