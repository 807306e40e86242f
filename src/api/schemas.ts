/**
 * JSON Schemas shared by routes: they validate requests (query strings are coerced, bodies are not) and
 * are what `/openapi.json` and `/docs` publish, so the documentation is the validation.
 */
import { DEVICE_ID_PATTERN } from '../core/readings.js'

/** `{"error":{"code","message"}}`, the answer to every failure. */
export const errorSchema = {
  type: 'object',
  description: 'What went wrong and what to do about it.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable code, e.g. READING_INVALID, UNAUTHORIZED, OVERLOADED.' },
        message: { type: 'string', description: 'What is wrong and what to send instead.' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const

/** Error answers every protected route may give (added to each route's `response`). */
export const commonErrorResponses = {
  400: errorSchema,
  401: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const

const devicePattern = DEVICE_ID_PATTERN.source

/** The seed's envelope (reference/indoor-sensors-api.md). */
export const envelopeSchema = {
  type: 'object',
  required: ['Records', 'Metadata', 'ExecutionInfo'],
  properties: {
    Records: {
      type: 'array',
      description:
        'One record per row; for series, newest time first: [time, value per column]; values are strings, null when absent.',
      items: { type: 'array', items: { type: ['string', 'null'] } },
    },
    Metadata: {
      type: 'object',
      required: ['SourceName', 'SourceType', 'SourceFormat', 'ColumnName', 'ColumnType'],
      properties: {
        SourceName: { type: 'string', example: 'airlake' },
        SourceType: { type: 'string', example: 'SensorsData' },
        SourceFormat: { type: 'string', enum: ['Timeserie', 'Tabular', 'Text'] },
        ColumnName: { type: 'array', items: { type: 'string' } },
        ColumnType: { type: 'array', items: { type: 'string', enum: ['timestamp', 'float', 'str'] } },
      },
    },
    ExecutionInfo: {
      type: 'object',
      required: ['LastQueryId', 'NextTokenConsumed', 'NextToken'],
      properties: {
        LastQueryId: { type: 'string', description: 'A fresh id per answer, for logs.' },
        NextTokenConsumed: { type: 'integer', description: 'Pages of this query served before this one.' },
        NextToken: {
          type: ['string', 'null'],
          description:
            'Pass as nextToken (same other parameters) for the next, older page; null on the last page.',
        },
      },
    },
  },
} as const

/** Query of `GET /sensorsdata` and `GET /predictions`. */
export const seriesQuerySchema = {
  type: 'object',
  required: ['device'],
  additionalProperties: false,
  properties: {
    device: { type: 'string', pattern: devicePattern, description: 'Device id.' },
    from: {
      type: 'integer',
      minimum: 0,
      maximum: 7258118400,
      description: 'Start, unix seconds, inclusive (default: the beginning).',
    },
    to: {
      type: 'integer',
      minimum: 0,
      maximum: 7258118400,
      description: 'End, unix seconds, inclusive (default: no end).',
    },
    measure: {
      type: 'string',
      pattern: '^[A-Za-z][A-Za-z0-9_.~]{0,63}(,[A-Za-z][A-Za-z0-9_.~]{0,63}){0,31}$',
      description: 'One measure (or several, comma-separated); all, pivoted, when absent.',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 1000,
      description: 'Distinct times per page (every measure at those times is returned).',
    },
    nextToken: { type: 'string', maxLength: 512, description: 'NextToken of the previous page.' },
  },
} as const

/** The vendor's reading, the body of `PUT /sensorsdata`. */
export const vendorReadingSchema = {
  type: 'object',
  required: ['devid', 'ts', 'readings'],
  description:
    'The vendor reading: readings are [flag (ignored), temperature °C, humidity %RH, pressure kPa, IAQ, CO2 ppm, VOC ppm].',
  properties: {
    devid: {
      type: ['string', 'integer'],
      description: '1–64 characters of letters, digits, "_", ".", ":" or "-".',
      example: '7BB92D02D696C5C5',
    },
    ts: {
      type: ['string', 'number'],
      description: 'RFC 1123, ISO 8601 or unix seconds; truncated to the minute.',
      example: 'Tue, 07 Feb 2023 11:29:19 GMT',
    },
    readings: {
      type: 'array',
      minItems: 7,
      maxItems: 7,
      items: { type: ['number', 'string'] },
      example: [1, 25.2173, 51.5724, 100.9, 132, 862.3662, 1.1371],
    },
    id: { type: ['integer', 'string'], description: "The vendor's reading id (kept in bronze)." },
  },
} as const

/** A long row, one of the shapes the batch route takes. */
export const longRowSchema = {
  type: 'object',
  required: ['time', 'device', 'measure', 'value'],
  properties: {
    time: { type: ['string', 'number'], description: 'RFC 1123, ISO 8601 or unix seconds.' },
    device: { type: ['string', 'integer'] },
    measure: { type: 'string' },
    value: { type: ['number', 'string'] },
  },
} as const

/** What an ingest answers. */
export const ingestReportSchema = {
  type: 'object',
  required: ['received', 'accepted', 'rejected', 'stored'],
  properties: {
    received: { type: 'integer', description: 'Records received.' },
    accepted: { type: 'integer', description: 'Records with at least one reading stored.' },
    rejected: {
      type: 'integer',
      description: 'Rejections kept in `rejected` (records or single impossible values).',
    },
    stored: { type: 'integer', description: 'Reading rows written.' },
    errors: {
      type: 'array',
      description: 'The first rejections, with the item index (batch) and the reason.',
      items: {
        type: 'object',
        properties: { index: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const
