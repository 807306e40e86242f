/**
 * The dashboard's whole view layer: build elements with `h`, swap a region's content with `replace`.
 * No virtual DOM: views keep references to the few nodes that change and update them directly.
 */

type Child = Node | string | number | false | null | undefined | Child[]

type Props = {
  class?: string
  style?: string
  dataset?: Record<string, string>
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void }
} & Record<string, unknown>

/**
 * Creates an element. Props set attributes (`class`, `aria-*`, `data-*`, …); `on` adds listeners;
 * boolean `true` sets an empty attribute and `false`/`undefined` leaves it out. Children may be nested
 * arrays; `false`, `null` and `undefined` children are skipped (for conditional parts).
 *
 * @example h('button', { class: 'primary', on: { click: save } }, 'Save')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === false || value === null) continue
      if (name === 'on') {
        for (const [type, listener] of Object.entries(value as Record<string, EventListener>)) {
          el.addEventListener(type, listener)
        }
      } else if (name === 'dataset') {
        Object.assign(el.dataset, value)
      } else if (name === 'value' && 'value' in el) {
        ;(el as HTMLInputElement).value = String(value)
      } else if (name === 'checked' || name === 'selected' || name === 'disabled') {
        ;(el as unknown as Record<string, boolean>)[name] = Boolean(value)
        if (name === 'disabled') el.setAttribute('disabled', '')
      } else {
        el.setAttribute(name, value === true ? '' : String(value))
      }
    }
  }
  append(el, children)
  return el
}

/** Creates an SVG element (sparklines, icons). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  ...children: SVGElement[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag)
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value))
  for (const child of children) el.appendChild(child)
  return el
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue
    if (Array.isArray(child)) append(parent, child)
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }
}

/** Replaces the content of `parent` with `children`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, children)
}

/** Calls `fn` at most once per animation frame, with the latest arguments. */
export function perFrame(fn: () => void): () => void {
  let queued = false
  return () => {
    if (queued) return
    queued = true
    requestAnimationFrame(() => {
      queued = false
      fn()
    })
  }
}

/** Calls `fn` once `waitMs` after the last call (bursts of live events -> one refetch). */
export function debounce(fn: () => void, waitMs: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  const call = () => {
    clearTimeout(timer)
    timer = setTimeout(fn, waitMs)
  }
  call.cancel = () => clearTimeout(timer)
  return call
}
