/**
 * Real Chromium for browser tests: Debian's `/usr/bin/chromium` driven by playwright-core, with a fresh
 * profile per launch, console errors collected, and screenshots written to `test-artifacts/`.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Where screenshots go (kept by CI as test artifacts). */
export const ARTIFACTS_DIR = resolve('test-artifacts')

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Why browser tests cannot run here, or `undefined` when they can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`
  }
  return undefined
}

export interface BrowserSession {
  context: BrowserContext
  page: Page
  /** Console errors, uncaught page errors and failed requests, in order. */
  problems: string[]
  /** Saves a PNG of the page as `test-artifacts/<name>.png` and returns its path. */
  screenshot(name: string, options?: { fullPage?: boolean }): Promise<string>
  close(): Promise<void>
}

/** Opens Chromium with a new profile on a page of the given size. */
export async function openBrowser(options: {
  width?: number
  height?: number
  baseURL: string
}): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'airlake-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: options.width ?? 1366, height: options.height ?? 768 },
    baseURL: options.baseURL,
    deviceScaleFactor: 1,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? ''
    // Aborted requests were cancelled by the browser or the page (a reload, a view's AbortController, the
    // live feed stopping), not refused: a server fault shows as an HTTP status or a connection error.
    if (failure.includes('ERR_ABORTED')) return
    problems.push(`request failed: ${request.method()} ${request.url()} ${failure}`)
  })
  await mkdir(ARTIFACTS_DIR, { recursive: true })
  return {
    context,
    page,
    problems,
    async screenshot(name, shotOptions = {}) {
      const path = join(ARTIFACTS_DIR, `${name}.png`)
      await page.screenshot({ path, fullPage: shotOptions.fullPage ?? false })
      return path
    },
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}
