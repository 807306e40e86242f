/** What a page shows in place of a part whose API route this server does not offer (an older or partial build). */
import { errorMessage } from './api.js'
import type { Context } from './context.js'
import { h, replace } from './dom.js'

/** "Model selection is not available: this server has no GET /selection." */
export function unavailableNotice(what: string, route: string): HTMLElement {
  return h(
    'div',
    { class: 'card empty unavailable', dataset: { unavailable: route } },
    h('strong', null, `${what} is not available`),
    ': this server has no ',
    h('code', null, route),
    ' (see ',
    h('a', { href: '/docs', target: '_blank', rel: 'noopener' }, '/docs'),
    ' for what it offers).',
  )
}

/** Where a page section's data comes from, as `loadSection` reads it. */
export interface SectionSource {
  /** Whose absence a notice names, e.g. "Model selection". */
  what: string
  /** The route as the OpenAPI document writes it, e.g. `GET /selection`. */
  route: string
  /** What failed to load, e.g. "model selection" ("Could not load model selection: …"). */
  failure: string
  /** The element of the error message (default a paragraph). */
  tag?: 'p' | 'span'
}

/**
 * Loads a section's data with `load`. When the server has no such route, `target` becomes a notice that
 * says so; when loading fails, it shows the API's error message. Either way the answer is undefined.
 */
export async function loadSection<T>(
  ctx: Context,
  target: HTMLElement,
  section: SectionSource,
  load: () => Promise<T>,
): Promise<T | undefined> {
  if (!ctx.has(section.route)) {
    replace(target, unavailableNotice(section.what, section.route))
    return undefined
  }
  try {
    return await load()
  } catch (error) {
    replace(
      target,
      h(
        section.tag ?? 'p',
        { class: 'error-text' },
        `Could not load ${section.failure}: ${errorMessage(error)}`,
      ),
    )
    return undefined
  }
}
