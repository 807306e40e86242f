/**
 * The load generator's client process (started by bench/load.ts): waits for one IPC message holding a
 * `LoadPlan`, sends that load over raw keep-alive HTTP/1.1 connections (one per concurrent user) and
 * replies with one message, `{ result: LoadResult }` or `{ error: string }`. Plain JavaScript on
 * `node:net` so it starts without tsx and costs the machine as little per request as wrk or autocannon:
 * requests are serialised to bytes once, and answers are parsed only as far as framing needs.
 */
import net from 'node:net'

const HOST = '127.0.0.1'
const CRLF = Buffer.from('\r\n')
const HEAD_END = Buffer.from('\r\n\r\n')
/** Longest response head or chunk-size line accepted (bytes): past it the answer is called malformed. */
const LINE_LIMIT = 64 * 1024
/** Most distinct requests serialised up front; a longer paths x bodies cycle is serialised per request. */
const PREBUILT_LIMIT = 1_000_000

/** The bytes of one request: request line, headers (content-length included) and body. */
function requestText(plan, path, body) {
  let text = `${plan.method} ${path} HTTP/1.1\r\nhost: ${HOST}:${plan.port}\r\n`
  for (const [name, value] of Object.entries(plan.headers)) {
    const lower = name.toLowerCase()
    if (lower === 'host' || lower === 'content-length') continue
    text += `${name}: ${value}\r\n`
  }
  // As Node's http client does: a PUT or POST without a body says so, a GET says nothing.
  if (body !== undefined) text += `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  else text += plan.method === 'GET' ? '\r\n' : 'content-length: 0\r\n\r\n'
  return text
}

function checkPlan(plan) {
  const lines = [...plan.paths, ...Object.keys(plan.headers), ...Object.values(plan.headers)]
  if (lines.some((s) => /[\r\n]/.test(String(s)))) throw new Error('a path or header holds CR or LF')
  if (plan.paths.length === 0) throw new Error('the plan has no paths')
  if (plan.bodies && plan.bodies.length === 0) throw new Error('the plan has an empty list of bodies')
  if (!(plan.concurrency >= 1)) throw new Error(`concurrency must be at least 1, is ${plan.concurrency}`)
  if (!plan.requests && !(plan.durationMs > 0))
    throw new Error('the plan sets neither requests nor durationMs')
}

function gcd(a, b) {
  return b === 0 ? a : gcd(b, a % b)
}

/** `(n) => bytes of request n`, with paths and bodies used in turn, each cycle serialised once. */
function serialiseRequests(plan) {
  const paths = plan.paths.length
  const bodies = plan.bodies ? plan.bodies.length : 1
  const cycle = (paths / gcd(paths, bodies)) * bodies
  const text = (n) => requestText(plan, plan.paths[n % paths], plan.bodies?.[n % bodies])
  if (cycle > PREBUILT_LIMIT) return (n) => Buffer.from(text(n))
  // One buffer for the whole cycle (rather than one object per request): 400,000 PUTs fit in ~100 MB.
  const offsets = new Float64Array(cycle + 1)
  for (let i = 0; i < cycle; i++) offsets[i + 1] = offsets[i] + Buffer.byteLength(text(i))
  const all = Buffer.allocUnsafe(offsets[cycle])
  for (let i = 0; i < cycle; i++) all.write(text(i), offsets[i])
  return (n) => {
    const i = n % cycle
    return all.subarray(offsets[i], offsets[i + 1])
  }
}

/**
 * Incremental parser of HTTP/1.x responses on one connection: calls `onResponse(status, close)` once per
 * complete response. Bodies are framed by content-length or chunked transfer-encoding; 1xx answers are
 * skipped. Throws on anything it cannot frame.
 */
function responseParser(method, onResponse) {
  let state = 'head'
  let carry
  let status = 0
  let close = false
  let remaining = 0

  function parseHead(text) {
    const lines = text.split('\r\n')
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0])
    if (!statusLine) throw new Error(`malformed status line ${JSON.stringify(lines[0].slice(0, 80))}`)
    status = Number(statusLine[2])
    close = statusLine[1] === '0'
    let length
    let chunked = false
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':')
      if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(lines[i].slice(0, 80))}`)
      const name = lines[i].slice(0, colon).trim().toLowerCase()
      const value = lines[i].slice(colon + 1).trim()
      if (name === 'content-length') {
        if (!/^\d+$/.test(value)) throw new Error(`malformed content-length ${JSON.stringify(value)}`)
        length = Number(value)
      } else if (name === 'transfer-encoding') {
        chunked = /(?:^|,)\s*chunked$/i.test(value)
      } else if (name === 'connection') {
        const tokens = value.toLowerCase()
        if (tokens.includes('close')) close = true
        else if (tokens.includes('keep-alive')) close = false
      }
    }
    if (status < 200 && status !== 101) return 'interim'
    if (status === 101) throw new Error('the server switched protocols (101)')
    if (status === 204 || status === 304 || method === 'HEAD') return 'done'
    if (chunked) return 'chunk-size'
    if (length === undefined) {
      throw new Error(`a ${status} response with neither content-length nor chunked transfer-encoding`)
    }
    remaining = length
    return length === 0 ? 'done' : 'body'
  }

  function complete() {
    state = 'head'
    onResponse(status, close)
  }

  /** The index of `needle` in `chunk` from `pos`, or -1 after keeping the rest for the next chunk. */
  function lineEnd(chunk, pos, needle, what) {
    const end = chunk.indexOf(needle, pos)
    if (end >= 0) return end
    if (chunk.length - pos > LINE_LIMIT) throw new Error(`${what} longer than ${LINE_LIMIT} bytes`)
    carry = chunk.subarray(pos)
    return -1
  }

  return function push(data) {
    const chunk = carry ? Buffer.concat([carry, data]) : data
    carry = undefined
    let pos = 0
    while (pos < chunk.length) {
      if (state === 'head') {
        const end = lineEnd(chunk, pos, HEAD_END, 'a response head')
        if (end < 0) return
        const next = parseHead(chunk.latin1Slice(pos, end))
        pos = end + HEAD_END.length
        if (next === 'done') complete()
        else if (next !== 'interim') state = next
      } else if (state === 'body' || state === 'chunk-data') {
        const take = Math.min(remaining, chunk.length - pos)
        pos += take
        remaining -= take
        if (remaining > 0) continue
        if (state === 'body') complete()
        else state = 'chunk-end'
      } else if (state === 'chunk-end') {
        if (chunk.length - pos < CRLF.length) {
          carry = chunk.subarray(pos)
          return
        }
        if (chunk[pos] !== 13 || chunk[pos + 1] !== 10) throw new Error('a chunk not followed by CRLF')
        pos += CRLF.length
        state = 'chunk-size'
      } else if (state === 'chunk-size') {
        const end = lineEnd(chunk, pos, CRLF, 'a chunk-size line')
        if (end < 0) return
        const line = chunk.latin1Slice(pos, end).split(';')[0].trim()
        if (!/^[0-9a-fA-F]{1,12}$/.test(line)) throw new Error(`malformed chunk size ${JSON.stringify(line)}`)
        pos = end + CRLF.length
        remaining = Number.parseInt(line, 16)
        state = remaining === 0 ? 'trailers' : 'chunk-data'
      } else {
        // After the last chunk: trailer fields, if any, then an empty line.
        const end = lineEnd(chunk, pos, CRLF, 'a trailer line')
        if (end < 0) return
        const empty = end === pos
        pos = end + CRLF.length
        if (empty) complete()
      }
    }
  }
}

/** One keep-alive connection carrying one request at a time. */
class Connection {
  /** Opens a connection to the plan's port; rejects with the reason when it cannot. */
  static open(port, method) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: HOST, port })
      const fail = (error) => reject(new Error(`cannot connect to ${HOST}:${port}: ${error.message}`))
      socket.once('error', fail)
      socket.once('connect', () => {
        socket.off('error', fail)
        resolve(new Connection(socket, `${HOST}:${port}`, method))
      })
    })
  }

  constructor(socket, address, method) {
    this.socket = socket
    this.address = address
    /** Whether the connection can carry no more requests (the server closed it, or said it would). */
    this.closed = false
    /** Why the answers on this connection cannot be trusted, once they cannot: ends the run. */
    this.error = undefined
    this.pending = undefined
    socket.setNoDelay(true)
    const push = responseParser(method, (status, close) => {
      const pending = this.pending
      if (!pending) throw new Error('a response arrived with no request outstanding')
      this.pending = undefined
      if (close) this.end()
      pending.resolve(status)
    })
    socket.on('data', (data) => {
      try {
        push(data)
      } catch (error) {
        this.fail(new Error(`malformed response from ${address}: ${error.message}`), true)
      }
    })
    socket.on('error', (error) => this.fail(new Error(`connection to ${address} failed: ${error.message}`)))
    socket.on('close', () =>
      this.fail(new Error(`${address} closed the connection before answering a request`)),
    )
  }

  /** Sends `bytes` (one whole request); resolves with the response's status once all of it has arrived. */
  request(bytes) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      this.socket.write(bytes)
    })
  }

  /**
   * Ends the connection; rejects the request in flight with `error`. With none in flight, a closed or
   * reset connection is only replaced, but a `fatal` error (bytes that are no answer) ends the run.
   */
  fail(error, fatal = false) {
    this.end()
    if (fatal) this.error ??= error
    const pending = this.pending
    this.pending = undefined
    pending?.reject(error)
  }

  end() {
    this.closed = true
    this.socket.destroy()
  }
}

async function runPlan(plan) {
  checkPlan(plan)
  const requestAt = serialiseRequests(plan)
  const connections = await Promise.all(
    Array.from({ length: plan.concurrency }, () => Connection.open(plan.port, plan.method)),
  )
  const latencies = []
  const statuses = {}
  let next = 0
  // The clock starts once every connection is open, as wrk's does.
  const started = performance.now()
  const measureFrom = started + (plan.warmupMs || 0)
  const endAt = plan.requests ? Number.POSITIVE_INFINITY : measureFrom + plan.durationMs
  let firstMeasured = Number.POSITIVE_INFINITY
  let lastMeasured = 0

  async function user(connection) {
    try {
      while (plan.requests ? next < plan.requests : performance.now() < endAt) {
        const bytes = requestAt(next++)
        // The server closed an idle connection or announced `connection: close`: open another, as an agent would.
        if (connection.closed) connection = await Connection.open(plan.port, plan.method)
        const t0 = performance.now()
        const status = await connection.request(bytes)
        const t1 = performance.now()
        // Bytes past the end of the answer (parsed in the same turn) make it suspect: stop on them.
        if (connection.error) throw connection.error
        if (t0 >= measureFrom && t1 <= endAt) {
          latencies.push(t1 - t0)
          statuses[status] = (statuses[status] || 0) + 1
          if (t0 < firstMeasured) firstMeasured = t0
          if (t1 > lastMeasured) lastMeasured = t1
        }
      }
    } finally {
      connection.end()
    }
  }

  try {
    await Promise.all(connections.map(user))
  } finally {
    for (const connection of connections) connection.end()
  }
  const seconds = plan.requests ? (lastMeasured - firstMeasured) / 1000 : plan.durationMs / 1000
  return { latenciesMs: latencies, rate: latencies.length / seconds, statuses }
}

// The parent kills this process when it has the answer; should the parent go first, go with it.
process.once('disconnect', () => process.exit(0))
process.once('message', (plan) => {
  runPlan(plan).then(
    (result) => process.send({ result }),
    (error) => process.send({ error: error instanceof Error ? error.message : String(error) }),
  )
})
