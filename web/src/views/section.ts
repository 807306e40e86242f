/** What the parts of a page share: a mounted section, and the colours series take in order. */

/** A part of a page with its own loading and live updates. */
export interface Section {
  element: HTMLElement
  dispose(): void
}

/** Series colours, in order: distinct on the dark theme. */
export const PALETTE = [
  '#38bdf8',
  '#a78bfa',
  '#f472b6',
  '#fb923c',
  '#34d399',
  '#fbbf24',
  '#f87171',
  '#94a3b8',
]
