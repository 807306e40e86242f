/**
 * The process logger: one line per event on stderr, readable on a terminal, JSON lines otherwise
 * (for log shippers). Level from AIRLAKE_LOG_LEVEL.
 */
import type { Logger } from './core/ports/logger.js'

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const
export type LogLevel = keyof typeof LEVELS

export function createLogger(
  level: LogLevel = 'info',
  options: { json?: boolean; fields?: Record<string, unknown>; write?: (line: string) => void } = {},
): Logger {
  const threshold = LEVELS[level]
  const json = options.json ?? !process.stderr.isTTY
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const base = options.fields ?? {}
  const log =
    (name: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LEVELS[name] < threshold) return
      const all = { ...base, ...fields }
      if (json) {
        write(JSON.stringify({ time: new Date().toISOString(), level: name, msg: message, ...all }))
      } else {
        const extra = Object.entries(all)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
        write(
          `${new Date().toISOString().slice(11, 19)} ${name.padEnd(5)} ${message}${extra ? ` ${extra}` : ''}`,
        )
      }
    }
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createLogger(level, { ...options, json, fields: { ...base, ...fields } }),
  }
}
