import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { deviceFromTopic, subscribeMqtt } from '../src/adapters/mqtt/mqtt-subscriber.js'
import { isAirlakeError } from '../src/core/errors.js'
import { mqttMessageHandler, startMqttIngest } from '../src/pipeline/mqtt-ingest.js'
import { type PrivateMosquitto, startPrivateMosquitto } from './support/private-mosquitto.js'
import { skipUnless } from './support/services.js'
import { openSourceTestDeps, type SourceTestDeps } from './support/source-deps.js'

const SHARED_BROKER = process.env.MQTT_TEST_URL ?? 'mqtt://127.0.0.1:1883'
const T0 = Date.UTC(2023, 1, 7, 11, 29, 19)

let deps: SourceTestDeps
before(async () => {
  deps = await openSourceTestDeps()
})
after(async () => {
  await deps.close()
})

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function publish(url: string, messages: Array<[topic: string, payload: string]>): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: unique('airlake-test-pub') })
  try {
    for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1 })
  } finally {
    await client.endAsync()
  }
}

const vendorReading = (devid: string, minute: number, iaq = 100) =>
  JSON.stringify({
    devid,
    id: 1 + minute,
    readings: [1, 22.5, 45, 101.1, iaq, 650, 0.9],
    ts: new Date(T0 + minute * 60_000).toUTCString(),
  })

describe('deviceFromTopic', () => {
  it('takes the device at the + of the filter, undefined when the topic does not match', () => {
    assert.equal(deviceFromTopic('airlake/+/readings', 'airlake/dev-1/readings'), 'dev-1')
    assert.equal(deviceFromTopic('site/a/+/#', 'site/a/dev-2/x/y'), 'dev-2')
    assert.equal(deviceFromTopic('airlake/+/readings', 'airlake/dev-1/status'), undefined)
    assert.equal(deviceFromTopic('airlake/+/readings', 'airlake/dev-1/readings/extra'), undefined)
  })
})

describe('MQTT ingestion against the shared Mosquitto', { skip: await skipUnless('Mosquitto', 1883) }, () => {
  it('stores vendor readings and long rows with QoS 1, takes the device from the topic, stores a redelivered message once, and rejects garbage with a reason', async () => {
    const root = unique('airlake-test')
    const subscription = await startMqttIngest(deps, {
      subscribe: (handler) =>
        subscribeMqtt(
          { url: SHARED_BROKER, topic: `${root}/+/readings`, clientId: unique('airlake-sub') },
          handler,
        ),
    })
    try {
      const reading = vendorReading('7BB92D02D696C5C5', 0)
      await publish(SHARED_BROKER, [
        [`${root}/7BB92D02D696C5C5/readings`, reading],
        [`${root}/7BB92D02D696C5C5/readings`, reading],
        [
          `${root}/room-9/readings`,
          JSON.stringify({ time: '2023-02-07T11:30:00Z', measure: 'co2', value: 700 }),
        ],
        [`${root}/room-9/readings`, 'not json at all'],
        [`${root}/room-9/readings`, vendorReading('7BB92D02D696C5C5', 1)],
      ])
      // `messages` counts a message as it starts; `received` once it is handled.
      await waitFor(
        'five messages handled',
        () => subscription.stats.received + subscription.stats.duplicates >= 5,
      )
      assert.deepEqual(subscription.stats, {
        messages: 5,
        duplicates: 1,
        received: 4,
        accepted: 2,
        rejected: 2,
        stored: 7,
      })

      const minute = Date.UTC(2023, 1, 7, 11, 29)
      const vendorRows = await deps.store.readingsPage({
        deviceId: '7BB92D02D696C5C5',
        from: minute,
        to: minute,
        limitTimes: 5,
      })
      assert.equal(vendorRows.length, 6)
      assert.ok(vendorRows.every((r) => r.source === 'mqtt'))
      const longRow = await deps.store.readingSeries('room-9', 'co2', minute, minute + 60_000)
      assert.deepEqual(
        longRow.map((r) => [r.time, r.value]),
        [[minute + 60_000, 700]],
      )

      const rejections = await deps.store.listRejections({ source: 'mqtt' })
      assert.ok(rejections.some((r) => r.code === 'BAD_REQUEST' && r.payload === 'not json at all'))
      assert.ok(rejections.some((r) => /differs from the device "room-9" of the topic/.test(r.reason)))
      // Nothing lost: every record received is stored or rejected.
      assert.equal(subscription.stats.accepted + subscription.stats.rejected, subscription.stats.received)
    } finally {
      await subscription.close()
    }
  })

  it('keeps the session: messages published while airlake is away arrive when it comes back with the same client id', async () => {
    const root = unique('airlake-test')
    const clientId = unique('airlake-sub')
    const subscribe = (handler: Parameters<typeof subscribeMqtt>[1]) =>
      subscribeMqtt({ url: SHARED_BROKER, topic: `${root}/+/readings`, clientId }, handler)
    const first = await startMqttIngest(deps, { subscribe })
    await first.close()
    await publish(SHARED_BROKER, [
      [`${root}/AWAY000000000001/readings`, vendorReading('AWAY000000000001', 0)],
      [`${root}/AWAY000000000001/readings`, vendorReading('AWAY000000000001', 1)],
    ])
    const second = await startMqttIngest(deps, { subscribe })
    try {
      await waitFor('the queued messages', () => second.stats.stored === 12)
      assert.equal(await deps.store.countReadings({ deviceId: 'AWAY000000000001' }), 12)
    } finally {
      await second.close()
    }
  })

  it('reconnects by itself after the connection drops', async () => {
    const root = unique('airlake-test')
    const statuses: string[] = []
    const { handle, stats } = mqttMessageHandler(deps)
    const subscription = await subscribeMqtt(
      {
        url: SHARED_BROKER,
        topic: `${root}/+/readings`,
        clientId: unique('airlake-sub'),
        reconnectPeriodMs: 100,
        onStatus: (s) => statuses.push(s),
      },
      handle,
    )
    try {
      subscription.dropConnection()
      await waitFor('a reconnection', () => statuses.filter((s) => s === 'connected').length >= 2)
      await publish(SHARED_BROKER, [
        [`${root}/DROP000000000001/readings`, vendorReading('DROP000000000001', 0)],
      ])
      await waitFor('the message after reconnecting', () => stats.stored === 6)
    } finally {
      await subscription.close()
    }
  })

  it('says clearly when the broker cannot be reached', async () => {
    await assert.rejects(
      subscribeMqtt(
        { url: 'mqtt://127.0.0.1:1', clientId: unique('airlake-sub'), connectTimeoutMs: 300 },
        async () => {},
      ),
      (e) => isAirlakeError(e, 'DEPENDENCY_MISSING') && /is the broker running/.test(e.message),
    )
  })
})

describe('MQTT ingestion across a broker restart (a private Mosquitto, restarted for real)', () => {
  let broker: PrivateMosquitto
  before(async () => {
    broker = await startPrivateMosquitto()
  })
  after(async () => {
    await broker.close()
  })

  it('stores a message the broker redelivers (its acknowledgement was lost with the connection) once', async () => {
    const { handle, stats } = mqttMessageHandler(deps)
    let drop: (() => void) | undefined
    let handled = 0
    const subscription = await subscribeMqtt(
      {
        url: broker.url,
        topic: 'airlake/+/readings',
        clientId: unique('airlake-sub'),
        reconnectPeriodMs: 100,
      },
      async (message) => {
        await handle(message)
        // The first delivery is stored, then the connection drops before the acknowledgement goes out.
        if (++handled === 1) drop?.()
      },
    )
    drop = () => subscription.dropConnection()
    try {
      await publish(broker.url, [['airlake/REDL000000000001/readings', vendorReading('REDL000000000001', 0)]])
      await waitFor('the redelivery', () => stats.messages >= 2)
      assert.equal(stats.duplicates, 1)
      assert.equal(stats.stored, 6)
      assert.equal(await deps.store.countReadings({ deviceId: 'REDL000000000001' }), 6)
    } finally {
      await subscription.close()
    }
  })

  it('comes back after the broker restarts and keeps ingesting', async () => {
    const statuses: string[] = []
    const subscription = await startMqttIngest(deps, {
      subscribe: (handler) =>
        subscribeMqtt(
          {
            url: broker.url,
            topic: 'airlake/+/readings',
            clientId: unique('airlake-sub'),
            reconnectPeriodMs: 100,
            onStatus: (s) => statuses.push(s),
          },
          handler,
        ),
    })
    try {
      await publish(broker.url, [['airlake/RSTA000000000001/readings', vendorReading('RSTA000000000001', 0)]])
      await waitFor('the first message', () => subscription.stats.stored === 6)

      await broker.stop()
      await waitFor('the subscriber to notice', () => statuses.includes('offline'))
      await broker.start()
      await waitFor('a reconnection', () => statuses.filter((s) => s === 'connected').length >= 2)

      await publish(broker.url, [['airlake/RSTA000000000001/readings', vendorReading('RSTA000000000001', 1)]])
      await waitFor('the message after the restart', () => subscription.stats.stored === 12)
      assert.equal(await deps.store.countReadings({ deviceId: 'RSTA000000000001' }), 12)
    } finally {
      await subscription.close()
    }
  })
})
