import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AirlakeError } from '../core/errors.js'
import { batchItems, splitJsonArray } from './json-items.js'

describe('splitJsonArray', () => {
  test('gives the exact text of each element', () => {
    const text = ' [ {"a": "x,]}\\"", "b":[1, {"c":2}]} ,\n  {"d" :3}, 4 , "s]" , null,[[]] ] '
    assert.deepEqual(splitJsonArray(text), [
      '{"a": "x,]}\\"", "b":[1, {"c":2}]}',
      '{"d" :3}',
      '4',
      '"s]"',
      'null',
      '[[]]',
    ])
  })
  test('handles empty arrays and non-arrays', () => {
    assert.deepEqual(splitJsonArray('[]'), [])
    assert.deepEqual(splitJsonArray(' [ ] '), [])
    assert.equal(splitJsonArray('{"a":1}'), undefined)
  })
  test('agrees with JSON.parse on a large generated array', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({
      devid: `d${i}`,
      ts: i,
      s: 'q"u,o]t}e\\',
      readings: [i, [i], { x: i }],
    }))
    for (const text of [JSON.stringify(items), JSON.stringify(items, null, 2)]) {
      const raws = splitJsonArray(text)!
      assert.equal(raws.length, items.length)
      raws.forEach((raw, i) => {
        assert.deepEqual(JSON.parse(raw), items[i])
        assert.ok(text.includes(raw))
      })
    }
  })
})

describe('batchItems', () => {
  test('reads NDJSON line by line, a broken line being an item with its error', () => {
    const items = batchItems('{"a":1}\r\n\n{broken\n{"b":2}', { ndjson: true })
    assert.equal(items.length, 3)
    assert.deepEqual(items[0], { raw: '{"a":1}', body: { a: 1 } })
    assert.ok(
      'error' in items[1]! && items[1].error.code === 'BAD_REQUEST' && /line 3/.test(items[1].error.message),
    )
    assert.equal(items[1]!.raw, '{broken')
    assert.deepEqual(items[2], { raw: '{"b":2}', body: { b: 2 } })
  })
  test('reads a JSON array with each raw exact, and a single object as one item', () => {
    assert.deepEqual(batchItems('[{"a": 1} , {"b":2}]', { ndjson: false }), [
      { raw: '{"a": 1}', body: { a: 1 } },
      { raw: '{"b":2}', body: { b: 2 } },
    ])
    assert.deepEqual(batchItems('{"a":1}', { ndjson: false }), [{ raw: '{"a":1}', body: { a: 1 } }])
  })
  test('reads NDJSON sent as application/json', () => {
    assert.equal(batchItems('{"a":1}\n{"b":2}\n', { ndjson: false }).length, 2)
  })
  test('refuses a body that cannot be read as a whole', () => {
    for (const text of ['[{"a":1},', '', '42', '"text"', '{"a":1}\n{broken']) {
      assert.throws(
        () => batchItems(text, { ndjson: false }),
        (e: unknown) => e instanceof AirlakeError && e.code === 'BAD_REQUEST',
      )
    }
  })
})
