import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AirlakeError } from '../core/errors.js'
import { describeValidation, toErrorReply } from './error-reply.js'

test('AirlakeErrors map through the status table', () => {
  assert.deepEqual(toErrorReply(new AirlakeError('READING_INVALID', 'fix it')), {
    status: 400,
    body: { error: { code: 'READING_INVALID', message: 'fix it' } },
    log: false,
  })
  assert.equal(toErrorReply(new AirlakeError('UNAUTHORIZED', 'key')).status, 401)
  assert.equal(toErrorReply(new AirlakeError('OVERLOADED', 'busy')).status, 429)
  const down = toErrorReply(new AirlakeError('STORE_UNAVAILABLE', 'db down'))
  assert.equal(down.status, 503)
  assert.equal(down.log, true)
})

test("Fastify's errors become 4xx with what to do", () => {
  const tooLarge = toErrorReply(
    { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 },
    { bodyLimitBytes: 1024 * 1024 },
  )
  assert.equal(tooLarge.status, 413)
  assert.equal(tooLarge.body.error.code, 'PAYLOAD_TOO_LARGE')
  assert.match(tooLarge.body.error.message, /1 MiB/)
  assert.equal(toErrorReply({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }).status, 415)
  const query = toErrorReply({
    statusCode: 400,
    validationContext: 'querystring',
    validation: [{ instancePath: '/from', keyword: 'type', message: 'must be integer', params: {} }],
  })
  assert.deepEqual(query.body.error, {
    code: 'PARAMETER_INVALID',
    message: 'the query parameter "from" must be integer',
  })
  assert.equal(toErrorReply({ statusCode: 404, message: 'Route not found' }).body.error.code, 'NOT_FOUND')
})

test('anything else is a 500 INTERNAL that hides the cause and asks to be logged', () => {
  const reply = toErrorReply(new TypeError('x is undefined'), { requestId: 'req-7' })
  assert.equal(reply.status, 500)
  assert.equal(reply.body.error.code, 'INTERNAL')
  assert.doesNotMatch(reply.body.error.message, /undefined/)
  assert.match(reply.body.error.message, /req-7/)
  assert.equal(reply.log, true)
})

test('describeValidation names the place in the body', () => {
  assert.equal(
    describeValidation('body', [
      { instancePath: '/readings/2', keyword: 'type', message: 'must be number,string', params: {} },
    ]),
    'the body.readings[2] must be number,string',
  )
  assert.equal(
    describeValidation('body', [
      { instancePath: '', keyword: 'required', params: { missingProperty: 'ts' } },
    ]),
    'the body lacks the field "ts"',
  )
  assert.equal(
    describeValidation('querystring', [
      { instancePath: '', keyword: 'required', params: { missingProperty: 'device' } },
    ]),
    'the query parameter "device" is missing',
  )
})
