/**
 * The one place that turns any error into an HTTP answer `{"error":{"code","message"}}`.
 *
 * AirlakeErrors map through `errorStatus` (src/core/errors.ts); Fastify's own errors (validation, body
 * too large, unsupported media type, bad JSON) become 4xx with a message saying what to send instead;
 * anything else is a 500 `INTERNAL` whose cause is logged, never shown.
 */
import { AirlakeError, type ErrorCode, errorStatus } from '../core/errors.js'

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> }
}

export interface ErrorReply {
  status: number
  body: ErrorBody
  /** Whether the server must log it (5xx: something failed on our side). */
  log: boolean
}

/** One Ajv error, as Fastify attaches them to a validation error. */
interface ValidationIssue {
  instancePath?: string
  keyword?: string
  message?: string
  params?: Record<string, unknown>
}

interface FastifyLikeError {
  code?: string
  statusCode?: number
  message?: string
  validation?: ValidationIssue[]
  validationContext?: string
}

function reply(
  status: number,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ErrorReply {
  return {
    status,
    body: { error: details ? { code, message, details } : { code, message } },
    log: status >= 500,
  }
}

/** Maps `error` to its HTTP answer. `bodyLimitBytes` words the 413 message. */
export function toErrorReply(
  error: unknown,
  options: { bodyLimitBytes?: number; requestId?: string } = {},
): ErrorReply {
  if (error instanceof AirlakeError) {
    const details = error.details && error.status < 500 ? error.details : undefined
    return reply(errorStatus[error.code], error.code, error.message, details)
  }
  const fastify = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError
  if (Array.isArray(fastify.validation)) {
    const context = fastify.validationContext ?? 'body'
    const code: ErrorCode = context === 'body' ? 'BAD_REQUEST' : 'PARAMETER_INVALID'
    return reply(400, code, describeValidation(context, fastify.validation))
  }
  switch (fastify.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply(
        413,
        'PAYLOAD_TOO_LARGE',
        `the body is larger than ${formatBytes(options.bodyLimitBytes)}: split it into several requests (for readings, POST /sensorsdata/batch in parts)`,
      )
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply(
        415,
        'BAD_REQUEST',
        'unsupported Content-Type: send application/json (or application/x-ndjson to the batch route)',
      )
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply(400, 'BAD_REQUEST', 'the body is empty: send a JSON document')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply(
        400,
        'BAD_REQUEST',
        `the body is not valid JSON (${fastify.message ?? 'parse error'}): send a JSON document`,
      )
  }
  const status = fastify.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: ErrorCode =
      status === 404
        ? 'NOT_FOUND'
        : status === 401
          ? 'UNAUTHORIZED'
          : status === 413
            ? 'PAYLOAD_TOO_LARGE'
            : status === 429
              ? 'OVERLOADED'
              : 'BAD_REQUEST'
    return reply(status, code, fastify.message || 'the request cannot be read')
  }
  const reference = options.requestId ? ` (request ${options.requestId})` : ''
  return reply(
    500,
    'INTERNAL',
    `an unexpected error occurred${reference}; it is logged on the server: retry, and report it if it persists`,
  )
}

/** A validation failure in plain words: where, what is wrong, and what to send. */
export function describeValidation(context: string, issues: readonly ValidationIssue[]): string {
  const issue = issues[0]
  if (!issue) return `the ${context} is not valid`
  const where = locate(context, issue.instancePath ?? '')
  const params = issue.params ?? {}
  switch (issue.keyword) {
    case 'required':
      return context === 'querystring'
        ? `the query parameter "${String(params.missingProperty)}" is missing`
        : `${where} lacks the field "${String(params.missingProperty)}"`
    case 'additionalProperties':
      return `${where} has an unknown field "${String(params.additionalProperty)}"`
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[] | undefined)?.map((v) => JSON.stringify(v)).join(', ') ?? 'the allowed values'}`
    case 'pattern':
      return `${where} has the wrong form (it must match ${String(params.pattern)})`
    default:
      return `${where} ${issue.message ?? 'is not valid'}`
  }
}

function locate(context: string, instancePath: string): string {
  const parts = instancePath.split('/').filter((part) => part !== '')
  if (context === 'querystring')
    return parts.length ? `the query parameter "${parts.join('.')}"` : 'the query'
  if (context === 'params') return parts.length ? `the path parameter "${parts.join('.')}"` : 'the path'
  if (context === 'headers') return parts.length ? `the header "${parts.join('.')}"` : 'the headers'
  let path = 'the body'
  for (const part of parts) path += /^\d+$/.test(part) ? `[${part}]` : `.${part}`
  return path
}

function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return 'the limit'
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}
