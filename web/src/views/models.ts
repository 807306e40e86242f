/**
 * Models: the registry (versions by series, metrics by horizon, aliases, promotion) and the bandits
 * that pick whose forecast is served (arms, rewards and choices over time).
 */
import type { Context, View } from '../context.js'
import { h } from '../dom.js'
import { registrySection } from './registry.js'
import { selectionSection } from './selection.js'

export function modelsView(ctx: Context): View {
  const registry = registrySection(ctx)
  const selection = selectionSection(ctx)
  const filter = h('input', {
    type: 'search',
    class: 'filter',
    placeholder: 'Filter by device, measure or model',
    'aria-label': 'Filter models',
  })
  const element = h(
    'section',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        null,
        h('h1', null, 'Models'),
        h('p', { class: 'muted' }, 'Registered versions, their errors by horizon, and what is served.'),
      ),
      filter,
    ),
    registry.element,
    h('h2', { class: 'section-title' }, 'Model selection (UCB1)'),
    selection.element,
  )
  // Cards carry `data-search` (their series, models and arms); sections re-render, so filter again then.
  const applyFilter = () => {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean)
    for (const card of element.querySelectorAll<HTMLElement>('[data-search]')) {
      const text = card.dataset.search ?? ''
      card.hidden = !words.every((word) => text.includes(word))
    }
  }
  filter.addEventListener('input', applyFilter)
  const observer = new MutationObserver(() => filter.value && applyFilter())
  observer.observe(element, { childList: true, subtree: true })
  return {
    title: 'Models',
    element,
    dispose: () => {
      observer.disconnect()
      registry.dispose()
      selection.dispose()
    },
  }
}
