/**
 * The closed list of error codes airlake raises, and the one table that maps them to HTTP statuses.
 *
 * A message always says what to do next; `cause` keeps the underlying driver or library error.
 */
export const errorStatus = {
  /** A request or file row that cannot be read as what it claims to be. */
  BAD_REQUEST: 400,
  /** A reading that fails validation (missing field, wrong length, non-number, bad device id). */
  READING_INVALID: 400,
  /** A value that is physically impossible for its measure (humidity 130 %RH, negative CO2). */
  READING_IMPOSSIBLE: 400,
  /** A timestamp that could not be parsed. */
  TIME_INVALID: 400,
  /** A query parameter that is missing or malformed. */
  PARAMETER_INVALID: 400,
  /** Model input that does not fit the model's signature. */
  SIGNATURE_MISMATCH: 400,
  /** A configuration setting with a bad value (reported all together at start-up). */
  CONFIG_INVALID: 400,
  /** A file that cannot be imported (unknown format, no time column, …). */
  FILE_INVALID: 400,
  /** Missing or unknown API key. */
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  DEVICE_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  /** An immutable lake object that already exists. */
  OBJECT_EXISTS: 409,
  /** A state conflict: the embedded store held by a running server, a run already running. */
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** A data quality check that blocks the operation (e.g. training on a failing data set). */
  QUALITY_FAILED: 422,
  /** Not enough data to do what was asked (too few windows to train). */
  INSUFFICIENT_DATA: 422,
  /** Load shedding: the server is at capacity; retry after a moment. */
  OVERLOADED: 429,
  /** An external system (vendor API, OpenAQ, broker) failed or answered garbage. */
  UPSTREAM_FAILED: 502,
  /** A dependency that is not installed or not reachable (libxgboost, PostgreSQL down). */
  DEPENDENCY_MISSING: 503,
  STORE_UNAVAILABLE: 503,
  LAKE_UNAVAILABLE: 503,
  BUS_UNAVAILABLE: 503,
  /** Anything unexpected; always carries the original error as `cause`. */
  INTERNAL: 500,
} as const

export type ErrorCode = keyof typeof errorStatus

/** The one error type airlake throws on purpose. */
export class AirlakeError extends Error {
  override readonly name = 'AirlakeError'

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.details = options?.details
  }

  /** Structured context for logs and API answers (never secrets). */
  readonly details: Record<string, unknown> | undefined

  get status(): number {
    return errorStatus[this.code]
  }
}

/** Whether `error` is an AirlakeError with one of `codes` (any code when none are given). */
export function isAirlakeError(error: unknown, ...codes: ErrorCode[]): error is AirlakeError {
  return error instanceof AirlakeError && (codes.length === 0 || codes.includes(error.code))
}

/** Wraps an unknown failure once, saying what failed and where; an AirlakeError passes through unchanged. */
export function wrapError(error: unknown, code: ErrorCode, message: string): AirlakeError {
  if (error instanceof AirlakeError) return error
  const detail = error instanceof Error ? error.message : String(error)
  return new AirlakeError(code, `${message}: ${detail}`, { cause: error })
}
