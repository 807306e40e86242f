/**
 * The dashboard's entry: asks for the API key once per browser session (kept in sessionStorage),
 * then routes `#/devices`, `#/device/<id>`, `#/models`, `#/pipelines` to their pages.
 */
import { Api, ApiError, errorMessage } from './api.js'
import type { Context, View } from './context.js'
import { h, replace } from './dom.js'
import { LiveFeed, type LiveStatus } from './live.js'
import './styles.css'
import { deviceView } from './views/device.js'
import { devicesView } from './views/devices.js'
import { modelsView } from './views/models.js'
import { pipelinesView } from './views/pipelines.js'

const KEY_STORAGE = 'airlake.apiKey'
const root = document.getElementById('app')!

function start(): void {
  const key = sessionStorage.getItem(KEY_STORAGE)
  if (key) void openDashboard(key)
  else showLogin()
}

function showLogin(message?: string): void {
  document.title = 'Sign in · airlake'
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'current-password',
    placeholder: 'al_…',
    required: true,
    'aria-describedby': 'login-help',
  })
  const error = h('p', { class: 'form-error', role: 'alert' }, message ?? '')
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in')
  const form = h(
    'form',
    { class: 'login card', on: { submit: (event) => void submit(event) } },
    h('div', { class: 'brand brand-large' }, logo(), 'airlake'),
    h('p', { class: 'muted' }, 'From sensors to live forecasts.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'login-help', class: 'hint' },
      'Create one with ',
      h('code', null, 'airlake keys create --name you'),
      '. It is kept for this browser tab only.',
    ),
    error,
    button,
  )
  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault()
    const key = input.value.trim()
    if (!key) return
    button.disabled = true
    error.textContent = ''
    try {
      await new Api(key).get('/sensorsdata/sensors')
      sessionStorage.setItem(KEY_STORAGE, key)
      await openDashboard(key)
    } catch (e) {
      error.textContent =
        e instanceof ApiError && e.status === 401
          ? `That key was refused: ${e.message}`
          : `Could not sign in: ${errorMessage(e)}`
      button.disabled = false
      input.focus()
    }
  }
  replace(root, h('main', { class: 'login-page' }, form))
  input.focus()
}

async function openDashboard(key: string): Promise<void> {
  let signedOut = false
  const signOut = (message?: string) => {
    if (signedOut) return
    signedOut = true
    live.stop()
    current?.dispose()
    window.removeEventListener('hashchange', route)
    sessionStorage.removeItem(KEY_STORAGE)
    showLogin(message)
  }
  const api = new Api(key, (e) => signOut(`Signed out: ${e.message}`))
  const live = new LiveFeed({
    url: '/events',
    headers: () => api.headers(),
    onUnauthorized: () => signOut('Signed out: the server no longer accepts this key.'),
  })
  const toasts = h('div', { class: 'toasts', role: 'status' })
  const notify: Context['notify'] = (message, kind = 'info') => {
    const close = h('button', { class: 'toast-close', 'aria-label': 'Dismiss' }, '×')
    const toast = h('div', { class: `toast toast-${kind}` }, h('span', null, message), close)
    close.addEventListener('click', () => toast.remove())
    toasts.appendChild(toast)
    if (kind !== 'error') setTimeout(() => toast.remove(), 4000)
  }
  // Path parameters are compared by position only: `/runs/{id}` matches `/runs/{runId}`.
  const anyParam = (route: string) => route.replace(/\{[^}]*\}/g, '{}')
  const routes = await api.routes()
  const offered = new Set([...(routes ?? [])].map(anyParam))
  const context: Context = {
    api,
    live,
    notify,
    has: (route) => routes === undefined || offered.has(anyParam(route)),
  }

  const links = [
    ['devices', 'Devices'],
    ['models', 'Models'],
    ['pipelines', 'Pipelines'],
  ].map(([route, label]) => h('a', { href: `#/${route}`, dataset: { route: route! } }, label!))
  const status = h('span', { class: 'live-status', title: 'Live feed (GET /events)' })
  const main = h('main', { class: 'content', id: 'content' })
  replace(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/devices' }, logo(), 'airlake'),
      h('nav', { class: 'nav' }, links),
      h(
        'div',
        { class: 'topbar-end' },
        status,
        h('button', { class: 'ghost', on: { click: () => signOut() } }, 'Sign out'),
      ),
    ),
    main,
    toasts,
  )
  live.onStatus((s: LiveStatus) => {
    status.className = `live-status live-${s}`
    status.textContent = {
      connecting: 'connecting',
      live: 'live',
      reconnecting: 'reconnecting…',
      stopped: 'offline',
    }[s]
  })

  let current: View | undefined
  function route(): void {
    const hash = location.hash.replace(/^#\/?/, '')
    const [page, ...rest] = hash.split('/')
    current?.dispose()
    let view: View
    switch (page) {
      case 'device':
        view = deviceView(context, decodeURIComponent(rest.join('/')))
        break
      case 'models':
        view = modelsView(context)
        break
      case 'pipelines':
        view = pipelinesView(context)
        break
      default:
        if (page !== 'devices') history.replaceState(null, '', '#/devices')
        view = devicesView(context)
    }
    current = view
    const section = page === 'device' ? 'devices' : (page ?? 'devices')
    for (const link of links) link.classList.toggle('active', link.dataset.route === section)
    document.title = `${view.title} · airlake`
    replace(main, view.element)
    window.scrollTo(0, 0)
  }
  window.addEventListener('hashchange', route)
  route()
  live.start()
}

function logo(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg'
  const icon = document.createElementNS(ns, 'svg')
  icon.setAttribute('viewBox', '0 0 32 32')
  icon.setAttribute('class', 'logo')
  icon.setAttribute('aria-hidden', 'true')
  const path = document.createElementNS(ns, 'path')
  path.setAttribute('d', 'M3 20c5-8 9 4 14-4s9 2 12-2')
  path.setAttribute('fill', 'none')
  path.setAttribute('stroke', 'currentColor')
  path.setAttribute('stroke-width', '3')
  path.setAttribute('stroke-linecap', 'round')
  icon.appendChild(path)
  return icon
}

start()
