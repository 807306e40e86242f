/** What a page shows in place of a part whose API route this server does not offer (an older or partial build). */
import { h } from './dom.js'

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
