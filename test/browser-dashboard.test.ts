/**
 * The dashboard in real Chromium against a real server (test/support/dashboard-server.ts): sign in with a
 * key, see devices and a new one arrive live, see actuals with the server's own forecasts running ahead of
 * "now" and a new forecast arrive without a reload, promote a model, read the pipelines page, use it at
 * phone width, and be sent back to the key prompt when the key stops working; on a server without the
 * registry and pipeline routes, see those parts marked "not available". No console errors allowed but
 * those the test provokes (401s of a refused key, the live feed cut by the server). Screenshots go to
 * test-artifacts/; the device view also to docs/screenshot.png (the README's)
 * when UPDATE_SCREENSHOT=1.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { type ApiFixture, openApiFixture } from './api-fixture.js'
import { type BrowserSession, browserUnavailable, openBrowser } from './support/browser.js'
import {
  type DashboardServer,
  FORECAST_MEASURE,
  MAIN_DEVICE,
  startDashboardServer,
} from './support/dashboard-server.js'

const NEW_DEVICE = 'wsn-multi-hop-1'
/** A device whose readings stopped three hours ago. */
const QUIET_DEVICE = 'wsn-single-hop-1'
const WAIT = { timeout: 15_000 }

/** The built dashboard, built now when missing (a fresh checkout). */
function ensureDashboardBuilt(): void {
  if (existsSync('web/dist/index.html')) return
  const build = spawnSync('npm', ['run', 'build:web'], { stdio: 'inherit' })
  assert.equal(build.status, 0, 'npm run build:web failed')
}

/**
 * Waits until the forecast measure's chart holds `field` (epoch ms, from the card's data attributes:
 * `lastActual`, the newest actual; `forecastUntil`, how far its forecasts reach) at or after `atLeast`.
 */
function untilCard(page: Page, field: 'lastActual' | 'forecastUntil', atLeast: number) {
  return page.waitForFunction(
    ({ measure, field, atLeast }) =>
      Number(
        document.querySelector<HTMLElement>(`.measure-card[data-measure="${measure}"]`)?.dataset[field],
      ) >= atLeast,
    { measure: FORECAST_MEASURE, field, atLeast },
    WAIT,
  )
}

const skip = browserUnavailable()
if (skip && process.env.CI === 'true') throw new Error(`browser tests cannot run: ${skip}`)

describe('dashboard in Chromium', { skip, timeout: 90_000 }, () => {
  let server: DashboardServer
  let browser: BrowserSession

  /** Runs `step`, then drops the problems it was meant to cause (those matching `expected`). */
  const expecting = async (expected: RegExp, step: () => Promise<void>) => {
    const before = browser.problems.length
    await step()
    const caused = browser.problems.splice(before)
    browser.problems.push(...caused.filter((p) => !expected.test(p)))
  }
  /** The browser's console line for each 401 of a refused key. */
  const REFUSED = /status of 401/
  /** The live feed's request, cut by the server. */
  const FEED_CUT = /^request failed: GET \S+\/events |ERR_INCOMPLETE_CHUNKED_ENCODING/

  before(async () => {
    ensureDashboardBuilt()
    server = await startDashboardServer({ holdBack: 4 })
    await server.sendDevice(QUIET_DEVICE, 60, Date.now() - 3 * 3_600_000)
    browser = await openBrowser({ baseURL: server.url, width: 1366, height: 900 })
  })

  after(async () => {
    await browser?.close()
    await server?.close()
  })

  it('asks for the API key once and keeps it for the session', async () => {
    const { page } = browser
    await page.goto('/')
    await page.getByLabel('API key').waitFor(WAIT)
    await expecting(REFUSED, async () => {
      await page.getByLabel('API key').fill('al_not_a_key_of_this_server')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor(WAIT)
    })
    await browser.screenshot('login-refused')
    await page.getByLabel('API key').fill(server.key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.locator(`[data-device="${MAIN_DEVICE}"]`).waitFor(WAIT)
    assert.equal(await page.evaluate(() => sessionStorage.getItem('airlake.apiKey')), server.key)
    await page.reload()
    await page.locator(`[data-device="${MAIN_DEVICE}"]`).waitFor(WAIT)
    assert.equal(await page.getByLabel('API key').count(), 0, 'the key is asked for again after a reload')
  })

  it('lists devices with their last values and shows a new device live', async () => {
    const { page } = browser
    const row = page.locator(`[data-device="${MAIN_DEVICE}"]`)
    await row.locator('.sparkline polyline').waitFor(WAIT)
    const text = (await row.textContent()) ?? ''
    assert.match(text, /Temperature\s+[\d.]+ °C/)
    assert.match(text, /Humidity\s+[\d.]+ %RH/)
    const quiet = page.locator(`[data-device="${QUIET_DEVICE}"]`)
    assert.match((await quiet.textContent()) ?? '', /3 h ago/)
    await quiet.locator('.badge-stale').waitFor(WAIT)
    assert.equal(await row.locator('.badge-stale').count(), 0, 'a live device is marked stale')
    await page.locator('.live-status.live-live').waitFor(WAIT)
    await page.evaluate(() => {
      ;(window as unknown as { sameDocument: boolean }).sameDocument = true
    })
    await server.sendDevice(NEW_DEVICE, 30, Date.now())
    await page.locator(`[data-device="${NEW_DEVICE}"]`).waitFor(WAIT)
    assert.equal(
      await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
      true,
      'the page reloaded',
    )
    await browser.screenshot('devices')
  })

  it('draws actuals with forecasts ahead of the now line, and a new forecast live', async () => {
    const { page } = browser
    await page.locator(`[data-device="${MAIN_DEVICE}"] a`).click()
    const card = page.locator(`.measure-card[data-measure="${FORECAST_MEASURE}"]`)
    await card.locator('canvas').waitFor(WAIT)
    await untilCard(page, 'forecastUntil', 1)
    const before = await card.evaluate((el: HTMLElement) => ({ ...el.dataset }))
    assert.ok(
      Number(before.forecastUntil) > Number(before.lastActual),
      'forecasts reach beyond the last actual',
    )
    assert.ok(Number(before.forecastUntil) > Date.now(), 'forecasts reach beyond now')
    const legend = ((await card.locator('.u-legend').textContent()) ?? '').toLowerCase()
    for (const label of ['actual', 'forecast +5 min', 'forecast +10 min', 'forecast +15 min'])
      assert.ok(legend.includes(label), `legend has ${label}`)
    await browser.screenshot('device-before')

    const sent = await server.sendNext()
    await untilCard(page, 'lastActual', sent.time)
    await untilCard(page, 'forecastUntil', Number(before.forecastUntil) + 1)
    await page.mouse.move(0, 0)
    const shot = await browser.screenshot('device')
    // The README's picture is refreshed on purpose only: UPDATE_SCREENSHOT=1 npm test -- --grep browser
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, 'docs/screenshot.png')

    // The server drops every connection: the page says so, reconnects, and keeps updating.
    await expecting(FEED_CUT, async () => {
      server.runtime.server.server.closeAllConnections()
      await page.locator('.live-status.live-reconnecting').waitFor(WAIT)
      await page.locator('.live-status.live-live').waitFor(WAIT)
    })
    const later = await server.sendNext()
    await untilCard(page, 'lastActual', later.time)

    await page.getByRole('button', { name: 'Day' }).click()
    await page.waitForFunction(
      () => document.querySelector('[data-range="24h"]')?.getAttribute('aria-pressed') === 'true',
    )
    await card.locator('canvas').waitFor(WAIT)
    assert.equal(
      await page
        .getByRole('status')
        .filter({ hasText: /Could not|No readings/ })
        .count(),
      0,
    )
    await browser.screenshot('device-day')
  })

  it('promotes a model version from the models page', async () => {
    const { page } = browser
    await page.getByRole('link', { name: 'Models' }).click()
    const card = page.locator(`[data-series="${MAIN_DEVICE}.${FORECAST_MEASURE}"]`)
    await card.locator('canvas').first().waitFor(WAIT)
    const v2 = card.locator(`tr[data-model="${MAIN_DEVICE}.${FORECAST_MEASURE}.ridge"][data-version="2"]`)
    const v1 = card.locator(`tr[data-model="${MAIN_DEVICE}.${FORECAST_MEASURE}.ridge"][data-version="1"]`)
    await v1.locator('.alias-champion').waitFor(WAIT)
    await v2.getByRole('combobox').selectOption('champion')
    await v2.getByRole('button', { name: 'Promote' }).click()
    await page.locator('.toast-success').filter({ hasText: 'v2 is now champion' }).waitFor(WAIT)
    await v2.locator('.alias-champion').waitFor(WAIT)
    assert.equal(await v1.locator('.alias-champion').count(), 0, 'v1 is still champion')
    await page.locator('[data-selector]').first().waitFor(WAIT)
    await browser.screenshot('models', { fullPage: true })
  })

  it('shows runs with stages and logs, starts a training run, shows quality and downloads an export', async () => {
    const { page } = browser
    await page.getByRole('link', { name: 'Pipelines' }).click()
    const runs = page.locator('table.runs tbody tr')
    await runs.nth(1).waitFor(WAIT)
    await runs.first().click()
    await page.locator('.run-detail .steps li').first().waitFor(WAIT)
    const steps = (await page.locator('.run-detail .steps').textContent()) ?? ''
    for (const stage of ['time-series', 'dataset', 'features', 'matrix', 'train', 'evaluate', 'register']) {
      assert.ok(steps.includes(stage), `stage ${stage} shown`)
    }
    assert.match((await page.locator('.run-detail .logs').textContent()) ?? '', /ridge fitted/)

    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Train' }) })
    await form.getByLabel('Device').selectOption(MAIN_DEVICE)
    await form.getByLabel('Measure').fill(FORECAST_MEASURE)
    await form.getByRole('button', { name: 'Start training' }).click()
    await page.locator('.toast-success').filter({ hasText: 'Training started' }).waitFor(WAIT)
    await runs.nth(2).waitFor(WAIT)
    await page
      .locator('table.runs tbody tr')
      .first()
      .locator('.status-succeeded')
      .waitFor({ timeout: 30_000 })

    await page.locator('[data-part="quality"] .quality-head').waitFor(WAIT)
    const download = page.waitForEvent('download', WAIT)
    await page.getByRole('button', { name: 'Download CSV' }).click()
    const file = await download
    assert.match(file.suggestedFilename(), /\.csv$/)
    const csv = await readFile((await file.path())!, 'utf8')
    assert.match(csv.split('\n')[0] ?? '', /device/)
    assert.ok(csv.includes(MAIN_DEVICE), "the export holds the device's readings")
    await browser.screenshot('pipelines', { fullPage: true })
  })

  it('fits a phone screen', async () => {
    const { page } = browser
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`/#/device/${MAIN_DEVICE}`)
    await page.locator(`.measure-card[data-measure="${FORECAST_MEASURE}"] canvas`).waitFor(WAIT)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`)
    await browser.screenshot('device-phone')
    await page.goto('/#/devices')
    await page.locator(`[data-device="${NEW_DEVICE}"]`).waitFor(WAIT)
    await browser.screenshot('devices-phone')
    for (const view of ['models', 'pipelines']) {
      await page.goto(`/#/${view}`)
      await page.locator('.card canvas, table.runs tbody tr').first().waitFor(WAIT)
      const wider = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      assert.ok(wider <= 0, `the ${view} page is ${wider} px wider than the phone`)
      await browser.screenshot(`${view}-phone`, { fullPage: true })
    }
    await page.setViewportSize({ width: 1366, height: 900 })
  })

  it('goes back to the key prompt, saying why, when the key is refused', async () => {
    const { page } = browser
    await expecting(REFUSED, async () => {
      await page.evaluate(() => sessionStorage.setItem('airlake.apiKey', 'al_revoked_key_0123456789'))
      await page.reload()
      await page.getByRole('alert').filter({ hasText: 'Signed out' }).waitFor(WAIT)
    })
    assert.equal(await page.evaluate(() => sessionStorage.getItem('airlake.apiKey')), null)
    assert.deepEqual(browser.problems, [], 'console errors, page errors or failed requests')
  })
})

describe('dashboard in Chromium, on a server without the registry and pipeline routes', {
  skip,
  timeout: 60_000,
}, () => {
  let api: ApiFixture
  let browser: BrowserSession

  before(async () => {
    ensureDashboardBuilt()
    api = await openApiFixture({ server: { webRoot: resolve('web/dist') } })
    await api.app.listen({ host: '127.0.0.1', port: 0 })
    const address = api.app.server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    browser = await openBrowser({ baseURL: `http://127.0.0.1:${port}`, width: 1366, height: 900 })
  })

  after(async () => {
    await browser?.close()
    await api?.close()
  })

  it('says which parts are not available instead of failing', async () => {
    const { page } = browser
    await page.goto('/')
    await page.getByLabel('API key').fill(api.key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('No devices yet').waitFor(WAIT)
    await page.getByRole('link', { name: 'Models' }).click()
    await page.locator('[data-unavailable="GET /models"]').waitFor(WAIT)
    await page.locator('[data-unavailable="GET /selection"]').waitFor(WAIT)
    await page.getByRole('link', { name: 'Pipelines' }).click()
    for (const route of ['GET /runs', 'POST /runs', 'GET /exports', 'GET /quality']) {
      await page.locator(`[data-unavailable="${route}"]`).waitFor(WAIT)
    }
    assert.match((await page.locator('[data-unavailable="GET /runs"]').textContent()) ?? '', /not available/)
    await browser.screenshot('pipelines-unavailable')
    assert.deepEqual(browser.problems, [], 'console errors, page errors or failed requests')
  })
})
