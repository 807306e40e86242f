/** What every page gets: the API, the live feed, a way to tell the user something, and navigation. */
import type { Api } from './api.js'
import type { LiveFeed } from './live.js'

export interface Context {
  api: Api
  live: LiveFeed
  /** Whether the server offers a route, written as in its OpenAPI document: `GET /models`, `POST /models/{name}/aliases`. */
  has(route: string): boolean
  /** Shows a short message; `error` ones stay until dismissed. */
  notify(message: string, kind?: 'info' | 'success' | 'error'): void
}

/** A mounted page: its root element and how to tear it down (timers, subscriptions, charts). */
export interface View {
  title: string
  element: HTMLElement
  dispose(): void
}
