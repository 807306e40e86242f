import { NatsBus } from '../src/adapters/nats/nats-bus.js'
import { busContract } from './bus.contract.js'
import { NATS_URL, skipUnless } from './support/services.js'

const skip = await skipUnless('NATS', 4222)
if (skip) {
  const { it } = await import('node:test')
  it('NatsBus contract', { skip }, () => {})
} else {
  busContract('NatsBus (JetStream)', () =>
    NatsBus.connect(NATS_URL, { stream: `AIRLAKE_TEST_${process.pid}`, prefix: `t${process.pid}` }),
  )
}
