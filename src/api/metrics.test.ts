import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MetricsRegistry } from './metrics.js'

test('renders counters, gauges and cumulative histograms in Prometheus text format', () => {
  const registry = new MetricsRegistry()
  const requests = registry.counter('http_requests_total', 'Requests.', ['route'])
  requests.inc({ route: '/a' })
  requests.inc({ route: '/a' }, 2)
  requests.inc({ route: 'say "hi"\n' })
  registry.gauge('in_flight', 'In flight.', () => 4)
  const latency = registry.histogram('latency_seconds', 'Latency.', ['route'], [0.1, 0.01, 1])
  for (const value of [0.005, 0.05, 0.5, 5]) latency.observe({ route: '/a' }, value)

  assert.equal(
    registry.render(),
    [
      '# HELP http_requests_total Requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{route="/a"} 3',
      'http_requests_total{route="say \\"hi\\"\\n"} 1',
      '# HELP in_flight In flight.',
      '# TYPE in_flight gauge',
      'in_flight 4',
      '# HELP latency_seconds Latency.',
      '# TYPE latency_seconds histogram',
      'latency_seconds_bucket{route="/a",le="0.01"} 1',
      'latency_seconds_bucket{route="/a",le="0.1"} 2',
      'latency_seconds_bucket{route="/a",le="1"} 3',
      'latency_seconds_bucket{route="/a",le="+Inf"} 4',
      'latency_seconds_sum{route="/a"} 5.555',
      'latency_seconds_count{route="/a"} 4',
      '',
    ].join('\n'),
  )
  assert.equal(requests.get({ route: '/a' }), 3)
})

test('refuses duplicate names, bad names and counters going down', () => {
  const registry = new MetricsRegistry()
  registry.counter('a_total', 'A.')
  assert.throws(() => registry.counter('a_total', 'A again.'), /already registered/)
  assert.throws(() => registry.counter('bad name', 'B.'), /invalid metric name/)
  assert.throws(() => registry.counter('c_total', 'C.').inc({}, -1), RangeError)
})
