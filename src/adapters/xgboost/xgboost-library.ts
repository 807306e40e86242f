/**
 * A thin binding (koffi FFI) over XGBoost's C API in Debian's libxgboost0 (1.7): DMatrix from a dense
 * float32 matrix, boosters, one boosting round at a time, prediction, and save/load of UBJSON models.
 * Every handle is freed by its owner; every failing call raises with XGBGetLastError's text.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import koffi from 'koffi'
import { AirlakeError } from '../../core/errors.js'

/** What to tell a user when the library is missing. */
export const XGBOOST_INSTALL_HINT = 'install Debian package libxgboost0 (apt-get install libxgboost0)'

const KNOWN_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libxgboost.so.0',
  '/usr/lib/x86_64-linux-gnu/libxgboost.so',
  '/usr/lib/aarch64-linux-gnu/libxgboost.so.0',
  '/usr/lib/aarch64-linux-gnu/libxgboost.so',
  '/usr/lib/libxgboost.so',
  '/usr/local/lib/libxgboost.so',
]

/**
 * Paths where libxgboost may be: `AIRLAKE_XGBOOST_LIB` when set, the known Debian paths, then what
 * `ldconfig -p` lists. Only existing files are returned.
 */
export function findXgboostLibrary(): string[] {
  const candidates = [...KNOWN_PATHS]
  const fromEnv = process.env.AIRLAKE_XGBOOST_LIB
  if (fromEnv) return existsSync(fromEnv) ? [fromEnv] : []
  try {
    const listing = execFileSync('ldconfig', ['-p'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    for (const line of listing.split('\n')) {
      const match = /libxgboost\.so\S*\s.*=>\s*(\S+)/.exec(line)
      if (match?.[1]) candidates.push(match[1])
    }
  } catch {
    // ldconfig is absent on some systems (Alpine, macOS): the known paths are all we can try.
  }
  return [...new Set(candidates)].filter((path) => existsSync(path))
}

/** Opaque native handles. */
export type DMatrixHandle = { readonly __brand: 'DMatrix' }
export type BoosterHandle = { readonly __brand: 'Booster' }

// biome-ignore lint/suspicious/noExplicitAny: koffi functions are untyped at the boundary.
type Native = (...args: any[]) => any

/** The bound library. Use {@link loadXgboost}; one instance per process per path. */
export class XgboostLibrary {
  readonly version: string
  private readonly fn: Record<string, Native>

  constructor(readonly path: string) {
    let lib: koffi.IKoffiLib
    // libgomp reads this once, when it loads with libxgboost. Its default (spinning idle threads) made
    // training 5-15x slower on a busy two-core machine; passive waits cost nothing when cores are free.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE'
    try {
      lib = koffi.load(path)
    } catch (error) {
      throw new AirlakeError('DEPENDENCY_MISSING', `cannot load ${path}: ${XGBOOST_INSTALL_HINT}`, {
        cause: error,
      })
    }
    const declarations = {
      XGBGetLastError: 'const char *XGBGetLastError()',
      XGBoostVersion: 'void XGBoostVersion(_Out_ int *major, _Out_ int *minor, _Out_ int *patch)',
      XGDMatrixCreateFromMat:
        'int XGDMatrixCreateFromMat(const float *data, uint64_t nrow, uint64_t ncol, float missing, _Out_ void **out)',
      XGDMatrixSetInfoFromInterface:
        'int XGDMatrixSetInfoFromInterface(void *handle, const char *field, const char *iface)',
      XGDMatrixFree: 'int XGDMatrixFree(void *handle)',
      XGBoosterCreate: 'int XGBoosterCreate(void **dmats, uint64_t len, _Out_ void **out)',
      XGBoosterFree: 'int XGBoosterFree(void *handle)',
      XGBoosterSetParam: 'int XGBoosterSetParam(void *handle, const char *name, const char *value)',
      XGBoosterUpdateOneIter: 'int XGBoosterUpdateOneIter(void *handle, int iter, void *dtrain)',
      XGBoosterEvalOneIter:
        'int XGBoosterEvalOneIter(void *handle, int iter, void **dmats, const char **names, uint64_t len, _Out_ const char **out)',
      XGBoosterPredictFromDMatrix:
        'int XGBoosterPredictFromDMatrix(void *handle, void *dmat, const char *config, _Out_ void **shape, _Out_ uint64_t *dim, _Out_ void **result)',
      XGBoosterSaveModelToBuffer:
        'int XGBoosterSaveModelToBuffer(void *handle, const char *config, _Out_ uint64_t *len, _Out_ void **out)',
      XGBoosterLoadModelFromBuffer:
        'int XGBoosterLoadModelFromBuffer(void *handle, const void *buf, uint64_t len)',
      XGBoosterSlice: 'int XGBoosterSlice(void *handle, int begin, int end, int step, _Out_ void **out)',
      XGBoosterBoostedRounds: 'int XGBoosterBoostedRounds(void *handle, _Out_ int *out)',
    }
    try {
      this.fn = Object.fromEntries(Object.entries(declarations).map(([name, decl]) => [name, lib.func(decl)]))
    } catch (error) {
      throw new AirlakeError(
        'DEPENDENCY_MISSING',
        `${path} lacks the XGBoost C API airlake needs (1.7 or later): ${XGBOOST_INSTALL_HINT}`,
        { cause: error },
      )
    }
    const major = [0]
    const minor = [0]
    const patch = [0]
    this.fn.XGBoostVersion!(major, minor, patch)
    this.version = `${major[0]}.${minor[0]}.${patch[0]}`
  }

  private call(name: string, ...args: unknown[]): void {
    if (this.fn[name]!(...args) !== 0) {
      throw new AirlakeError('INTERNAL', `XGBoost ${name} failed: ${this.fn.XGBGetLastError!()}`)
    }
  }

  /** A DMatrix over row-major n × d float32 values (NaN = missing) with optional n × k float32 labels. */
  dmatrix(
    x: Float32Array,
    n: number,
    d: number,
    labels?: { values: Float32Array; columns: number },
  ): DMatrixHandle {
    const out: unknown[] = [null]
    this.call('XGDMatrixCreateFromMat', x, n, d, Number.NaN, out)
    const handle = out[0] as DMatrixHandle
    if (labels !== undefined) {
      try {
        this.setLabels(handle, labels.values, n, labels.columns)
      } catch (error) {
        this.freeDMatrix(handle)
        throw error
      }
    }
    return handle
  }

  private setLabels(handle: DMatrixHandle, values: Float32Array, n: number, columns: number): void {
    // The array-interface setter takes a raw address, so the labels are copied into native memory first.
    const memory = koffi.alloc('float', Math.max(1, values.length))
    try {
      koffi.encode(memory, 'float', Array.from(values), values.length)
      const shape = columns === 1 ? [n] : [n, columns]
      const iface = JSON.stringify({
        data: [Number(koffi.address(memory)), true],
        shape,
        typestr: '<f4',
        version: 3,
      })
      this.call('XGDMatrixSetInfoFromInterface', handle, 'label', iface)
    } finally {
      koffi.free(memory)
    }
  }

  freeDMatrix(handle: DMatrixHandle): void {
    this.call('XGDMatrixFree', handle)
  }

  /** A new booster caching the given matrices, with `params` set in order. */
  booster(cache: DMatrixHandle[], params: Record<string, string | number>): BoosterHandle {
    const out: unknown[] = [null]
    this.call('XGBoosterCreate', cache, cache.length, out)
    const handle = out[0] as BoosterHandle
    try {
      this.setParams(handle, params)
    } catch (error) {
      this.freeBooster(handle)
      throw error
    }
    return handle
  }

  /** Sets `params` on `booster`, in order. */
  setParams(booster: BoosterHandle, params: Record<string, string | number>): void {
    for (const [name, value] of Object.entries(params))
      this.call('XGBoosterSetParam', booster, name, String(value))
  }

  freeBooster(handle: BoosterHandle): void {
    this.call('XGBoosterFree', handle)
  }

  updateOneIter(booster: BoosterHandle, iteration: number, train: DMatrixHandle): void {
    this.call('XGBoosterUpdateOneIter', booster, iteration, train)
  }

  /** The evaluation line for one round, e.g. `[3]\tvalid-rmse:0.41`, parsed to the first metric's value. */
  evalOneIter(booster: BoosterHandle, iteration: number, dmat: DMatrixHandle, name: string): number {
    const out: unknown[] = [null]
    this.call('XGBoosterEvalOneIter', booster, iteration, [dmat], [name], 1, out)
    const text = String(out[0])
    const match = /:\s*([-+0-9.eE]+|nan|inf)/.exec(text)
    return match?.[1] === undefined ? Number.NaN : Number(match[1])
  }

  /** Predictions (margin = false: transformed by the objective), flattened row-major, float32. */
  predict(booster: BoosterHandle, dmat: DMatrixHandle): { shape: number[]; values: Float32Array } {
    const shapeOut: unknown[] = [null]
    const dimOut = [0]
    const resultOut: unknown[] = [null]
    const config = JSON.stringify({
      type: 0,
      training: false,
      iteration_begin: 0,
      iteration_end: 0,
      strict_shape: true,
    })
    this.call('XGBoosterPredictFromDMatrix', booster, dmat, config, shapeOut, dimOut, resultOut)
    const shape = (koffi.decode(shapeOut[0], 'uint64_t', Number(dimOut[0])) as Array<number | bigint>).map(
      Number,
    )
    const count = shape.reduce((a, b) => a * b, 1)
    // The result buffer belongs to the booster and is overwritten by its next call: copy it now.
    const values =
      count === 0 ? new Float32Array(0) : new Float32Array(koffi.view(resultOut[0], count * 4).slice(0))
    return { shape, values }
  }

  /** The model as UBJSON bytes (trees, objective, base score): reloads to the same predictions. */
  save(booster: BoosterHandle): Uint8Array {
    const lenOut = [0]
    const bufOut: unknown[] = [null]
    this.call('XGBoosterSaveModelToBuffer', booster, JSON.stringify({ format: 'ubj' }), lenOut, bufOut)
    return new Uint8Array(koffi.view(bufOut[0], Number(lenOut[0])).slice(0))
  }

  /**
   * The files of a saved booster: `model.ubj` and a `model.json` holding `description` (what the model
   * needs besides the trees to reload) and the library version. Throws INTERNAL for a disposed model.
   */
  artifactFiles(
    booster: BoosterHandle | undefined,
    description: Record<string, unknown>,
  ): Record<string, Uint8Array> {
    if (booster === undefined)
      throw new AirlakeError('INTERNAL', 'this XGBoost model was disposed; load it again')
    return {
      'model.ubj': this.save(booster),
      'model.json': new TextEncoder().encode(JSON.stringify({ ...description, xgboost: this.version })),
    }
  }

  /** A booster read from {@link save}'s bytes. */
  load(bytes: Uint8Array, params: Record<string, string | number> = {}): BoosterHandle {
    const booster = this.booster([], {})
    try {
      this.call('XGBoosterLoadModelFromBuffer', booster, bytes, bytes.length)
      this.setParams(booster, params)
    } catch (error) {
      this.freeBooster(booster)
      throw error
    }
    return booster
  }

  /** A new booster with the first `rounds` boosting rounds of `booster`. */
  slice(booster: BoosterHandle, rounds: number): BoosterHandle {
    const out: unknown[] = [null]
    this.call('XGBoosterSlice', booster, 0, rounds, 1, out)
    return out[0] as BoosterHandle
  }

  boostedRounds(booster: BoosterHandle): number {
    const out = [0]
    this.call('XGBoosterBoostedRounds', booster, out)
    return out[0]!
  }
}

const loaded = new Map<string, XgboostLibrary>()

/**
 * The library at `path`, or the first one found by {@link findXgboostLibrary}. Throws DEPENDENCY_MISSING
 * with the package to install when there is none.
 */
export function loadXgboost(path?: string): XgboostLibrary {
  const candidates = path === undefined ? findXgboostLibrary() : [path]
  const errors: string[] = []
  for (const candidate of candidates) {
    const cached = loaded.get(candidate)
    if (cached) return cached
    if (!existsSync(candidate)) {
      errors.push(`${candidate} does not exist`)
      continue
    }
    try {
      const library = new XgboostLibrary(candidate)
      loaded.set(candidate, library)
      return library
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error))
    }
  }
  const looked =
    candidates.length > 0 ? ` (${errors.join('; ')})` : ' (not in the known paths nor in ldconfig -p)'
  throw new AirlakeError('DEPENDENCY_MISSING', `libxgboost not found${looked}: ${XGBOOST_INSTALL_HINT}`)
}

/** Whether libxgboost can be loaded; the reason names the package to install. */
export function xgboostAvailability(path?: string): { ok: true } | { ok: false; reason: string } {
  try {
    loadXgboost(path)
    return { ok: true }
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) }
  }
}
