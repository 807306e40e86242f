/**
 * Runs benchmarks and records their figures: `npx tsx bench/run.ts [all|ingest|query|predict|train|…] [--quick]`
 * (what `airlake bench` and `npm run bench` call). Each benchmark prints a Markdown table of its figures
 * beside the baseline it measured in the same run; all of them go to bench/results/latest.{json,md}.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { type BenchResult, formatResults } from './types.js'

/** Benchmark groups as the CLI names them, and the files (bench/<file>.ts) in each. */
export const GROUPS: Record<string, string[]> = {
  ingest: ['api-ingest', 'api-put', 'store-ingest', 'file-ingest', 'silver'],
  query: ['api-get', 'store-query'],
  predict: ['invocations', 'live-loop'],
  train: ['accuracy', 'train-time'],
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick')
  const names = argv.filter((a) => !a.startsWith('--'))
  const wanted = names.length === 0 || names.includes('all') ? Object.keys(GROUPS) : names
  const files: string[] = []
  for (const name of wanted) {
    if (GROUPS[name]) files.push(...GROUPS[name]!)
    else if (existsSync(new URL(`./${name}.ts`, import.meta.url))) files.push(name)
    else {
      process.stderr.write(
        `unknown benchmark ${name}: use one of all, ${Object.keys(GROUPS).join(', ')} or a file name in bench/\n`,
      )
      return 2
    }
  }
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
  const sections: Array<{ bench: string; results: BenchResult[]; error?: string; seconds: number }> = []
  let failed = 0
  for (const file of files) {
    const url = new URL(`./${file}.ts`, import.meta.url)
    if (!existsSync(url)) {
      process.stderr.write(`bench/${file}.ts is missing: skipped\n`)
      continue
    }
    process.stdout.write(`\n== ${file}${quick ? ' (quick)' : ''}\n`)
    const started = Date.now()
    try {
      const module = (await import(url.href)) as { run: (o: { quick?: boolean }) => Promise<BenchResult[]> }
      const results = await module.run({ quick })
      const seconds = (Date.now() - started) / 1000
      sections.push({ bench: file, results, seconds })
      process.stdout.write(`${formatResults(file, results)}\n(${seconds.toFixed(1)} s)\n`)
    } catch (error) {
      failed++
      const message = error instanceof Error ? error.message : String(error)
      sections.push({ bench: file, results: [], error: message, seconds: (Date.now() - started) / 1000 })
      process.stderr.write(`bench ${file} failed: ${message}\n`)
    }
  }
  await mkdir(new URL('./results/', import.meta.url), { recursive: true })
  const stamp = new Date().toISOString()
  const all = mergeWithLatest(sections, quick, stamp)
  await writeFile(
    new URL('./results/latest.json', import.meta.url),
    `${JSON.stringify({ stamp, machine, quick, sections: all }, null, 2)}\n`,
  )
  const markdown = [
    `# Benchmark results`,
    '',
    `${stamp} on ${machine}${quick ? ' (quick sizes)' : ''}. Reproduce with \`npm run bench\`.`,
    '',
    ...all.map((s) =>
      s.error ? `### ${s.bench}\n\nfailed: ${s.error}\n` : `${formatResults(s.bench, s.results)}\n`,
    ),
  ].join('\n')
  await writeFile(new URL('./results/latest.md', import.meta.url), markdown)
  process.stdout.write(`\nwrote bench/results/latest.json and bench/results/latest.md\n`)
  return failed > 0 ? 1 : 0
}

type Section = { bench: string; results: BenchResult[]; error?: string; seconds: number; stamp?: string }

/**
 * This run's sections, plus the latest figures of the benchmarks it did not run (from the previous
 * latest.json, when that was of the same size), in the order of GROUPS: running one benchmark again
 * updates its figures without dropping the others'.
 */
function mergeWithLatest(sections: Section[], quick: boolean, stamp: string): Section[] {
  const merged = new Map<string, Section>()
  const previousUrl = new URL('./results/latest.json', import.meta.url)
  if (existsSync(previousUrl)) {
    const previous = JSON.parse(readFileSync(previousUrl, 'utf8')) as {
      quick?: boolean
      stamp?: string
      sections?: Section[]
    }
    if (Boolean(previous.quick) === quick) {
      for (const section of previous.sections ?? [])
        merged.set(section.bench, { stamp: previous.stamp, ...section })
    }
  }
  for (const section of sections) merged.set(section.bench, { ...section, stamp })
  const order = Object.values(GROUPS).flat()
  const rank = (bench: string) => (order.includes(bench) ? order.indexOf(bench) : order.length)
  return [...merged.values()].sort((a, b) => rank(a.bench) - rank(b.bench))
}

process.exitCode = await main(process.argv.slice(2))
