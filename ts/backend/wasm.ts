/**
 * The WebAssembly backend: the Rust core compiled to wasm32 + simd128 (crates/wasm), driven
 * through its wasm-bindgen glue (`bindings/wasm/downhill_wasm.js`, `--target web`).
 *
 * Buffers live in the instance's linear memory; `view()` is a `Float32Array` over
 * `memory.buffer`, re-made when the memory has grown (growth detaches the old `ArrayBuffer`).
 *
 * Trap recovery. The module is built with `panic = "abort"`, so a Rust panic (a bug, never bad
 * input) or an allocation failure traps (`WebAssembly.RuntimeError`) and leaves the instance in
 * an unknown state. The backend then marks that instance dead (every buffer of it throws
 * `BackendError` on use, so nothing silently runs on corrupted memory) and switches to a fresh
 * instance of the same compiled module for later `alloc` calls. A fresh instance needs a fresh
 * copy of the glue's module-level state, i.e. a separately imported copy of the glue
 * (`glue.js?instance=N`); one spare copy is always imported ahead of time so the switch is
 * synchronous. Only if two traps follow each other faster than a spare can be imported does
 * `alloc` throw until `ready()` resolves.
 */

import { BackendError, fromCoreError, rangeError, typeError } from '../errors.js';
import type { Backend, BackendInfo, Buffer } from './types.js';
import { checkKernel } from './js.js';

/** The parts of the wasm-bindgen glue (downhill_wasm.js) this backend uses. */
interface RawF32Buffer {
  free(): void;
  ptr(): number;
  len(): number;
  /** Glue-internal: forgets the pointer and unregisters the finalizer without calling wasm. */
  __destroy_into_raw?: () => number;
}
interface Glue {
  F32Buffer: new (len: number) => RawF32Buffer;
  step(
    kernel: number,
    segments: Float64Array,
    params: RawF32Buffer,
    grads: RawF32Buffer,
    s0: RawF32Buffer,
    s1: RawF32Buffer,
    s2: RawF32Buffer,
  ): void;
  info(): string;
  test_trap(): void;
  initSync(opts: { module: WebAssembly.Module }): { memory: WebAssembly.Memory };
}

/** Largest buffer: a Rust `Vec<f32>` on wasm32 holds at most `isize::MAX` bytes. */
const MAX_LENGTH = 2 ** 29 - 1;

/** One instantiation of the module, with its own copy of the glue. */
class Instance {
  dead = false;
  deathReason = '';
  /** Distinct empty buffers for unused state slots (one object can't be borrowed twice). */
  readonly empties: [RawF32Buffer, RawF32Buffer, RawF32Buffer];
  /** Live buffers, weakly, so a trap can detach them from the glue's finalizer. */
  private readonly live = new Set<WeakRef<RawF32Buffer>>();
  private pruneAt = 64;

  constructor(
    readonly glue: Glue,
    readonly memory: WebAssembly.Memory,
    readonly id: number,
  ) {
    this.empties = [new glue.F32Buffer(0), new glue.F32Buffer(0), new glue.F32Buffer(0)];
  }

  track(raw: RawF32Buffer): WeakRef<RawF32Buffer> {
    const ref = new WeakRef(raw);
    this.live.add(ref);
    if (this.live.size >= this.pruneAt) {
      for (const r of this.live) if (r.deref() === undefined) this.live.delete(r);
      this.pruneAt = Math.max(64, this.live.size * 2);
    }
    return ref;
  }

  untrack(ref: WeakRef<RawF32Buffer>): void {
    this.live.delete(ref);
  }

  /**
   * Marks the instance dead. Its buffers are detached from the glue's FinalizationRegistry so no
   * later garbage collection calls into the trapped instance.
   */
  kill(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.deathReason = reason;
    for (const ref of this.live) ref.deref()?.__destroy_into_raw?.();
    for (const e of this.empties) e.__destroy_into_raw?.();
    this.live.clear();
  }
}

class WasmBuffer implements Buffer {
  private raw: RawF32Buffer | null;
  private readonly ref: WeakRef<RawF32Buffer>;
  private readonly ptr: number;
  private cache: Float32Array | null = null;
  private cacheBuffer: ArrayBufferLike | null = null;

  constructor(
    readonly inst: Instance,
    raw: RawF32Buffer,
    readonly length: number,
  ) {
    this.raw = raw;
    this.ref = inst.track(raw);
    this.ptr = raw.ptr(); // a Vec never moves once allocated
  }

  get disposed(): boolean {
    return this.raw === null;
  }

  /** The glue object, after checking the buffer is usable. `arg` names it in errors. */
  handle(arg: string): RawF32Buffer {
    if (this.inst.dead) throw deadError(this.inst, arg);
    if (this.raw === null) throw typeError(arg, 'buffer has been disposed');
    return this.raw;
  }

  view(): Float32Array {
    this.handle('buffer');
    const buf = this.inst.memory.buffer;
    if (this.cache === null || this.cacheBuffer !== buf) {
      this.cache = new Float32Array(buf, this.ptr, this.length);
      this.cacheBuffer = buf;
    }
    return this.cache;
  }

  /** Idempotent. On a dead instance it only forgets the buffer (its memory is gone already). */
  dispose(): void {
    const raw = this.raw;
    if (raw === null) return;
    this.raw = null;
    this.cache = null;
    this.cacheBuffer = null;
    this.inst.untrack(this.ref);
    if (!this.inst.dead) raw.free();
  }
}

function deadError(inst: Instance, arg: string): BackendError {
  return new BackendError(
    'wasm',
    `${arg}: belongs to WebAssembly instance #${inst.id}, which trapped (${inst.deathReason}); ` +
      'its buffers are lost. Allocate new buffers (the backend already uses a fresh instance) ' +
      'and restore parameters and optimizer state from a checkpoint.',
  );
}

function isTrap(e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError || (e instanceof Error && e.constructor?.name === 'RuntimeError');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Where to get the glue and the compiled module. `glueUrl` must be importable with a query
 * string appended (`?instance=N`), which Node ESM and browsers both treat as a separate module.
 */
export interface WasmSource {
  glueUrl: string;
  module: WebAssembly.Module;
}

/** The WASM backend. Besides `Backend` it has `ready()` and `testTrap()`. */
export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  private current: Instance | null;
  private spare: Promise<Glue> | null = null;
  private spareGlue: Glue | null = null;
  private nextId: number;
  private infoCache: BackendInfo | null = null;

  private constructor(
    private readonly source: WasmSource,
    first: Instance,
  ) {
    this.current = first;
    this.nextId = first.id + 1;
    this.prepareSpare();
  }

  /** Imports the glue copy for instance #0 and instantiates it. */
  static async create(source: WasmSource): Promise<WasmBackend> {
    const glue = await importGlue(source.glueUrl, 0);
    const { memory } = glue.initSync({ module: source.module });
    const backend = new WasmBackend(source, new Instance(glue, memory, 0));
    await backend.ready();
    return backend;
  }

  private prepareSpare(): void {
    if (this.spare !== null || this.spareGlue !== null) return;
    const id = this.nextId;
    const p = importGlue(this.source.glueUrl, id);
    this.spare = p;
    p.then(
      (glue) => {
        this.spare = null;
        this.spareGlue = glue;
        if (this.current === null) this.switchToSpare();
      },
      () => {
        this.spare = null; // the next trap or ready() tries again
      },
    );
  }

  /** Makes the pre-imported spare glue copy the current instance (synchronous). */
  private switchToSpare(): void {
    const glue = this.spareGlue;
    if (glue === null) return;
    this.spareGlue = null;
    const id = this.nextId++;
    const { memory } = glue.initSync({ module: this.source.module });
    this.current = new Instance(glue, memory, id);
    this.prepareSpare();
  }

  /** Resolves once a live instance and a spare glue copy are available. */
  async ready(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      this.prepareSpare();
      if (this.spare !== null) await this.spare.catch(() => undefined);
      if (this.current === null) this.switchToSpare();
      if (this.current !== null && this.spareGlue !== null) return;
    }
    if (this.current === null) {
      throw new BackendError('wasm', `cannot import a fresh copy of ${this.source.glueUrl}`);
    }
  }

  /** Handles a trap of `inst`: kills it and switches to a fresh instance. */
  private trapped(inst: Instance, what: string, e: unknown): BackendError {
    inst.kill(`${what}: ${errorText(e)}`);
    if (this.current === inst) {
      this.current = null;
      this.switchToSpare();
    }
    return new BackendError(
      'wasm',
      `instance #${inst.id} trapped in ${what} (${errorText(e)}); its buffers are lost; ` +
        'allocate new ones (later allocations use a fresh instance) and restore state from a ' +
        'checkpoint. A trap is a bug in downhill: please report it.',
      { cause: e },
    );
  }

  private live(): Instance {
    if (this.current === null) {
      this.prepareSpare();
      throw new BackendError(
        'wasm',
        'the WebAssembly instance trapped and a fresh one is still being created; ' + 'await backend.ready() and retry',
      );
    }
    return this.current;
  }

  info(): BackendInfo {
    if (this.infoCache === null) {
      const raw = JSON.parse(this.live().glue.info()) as { simd: string; threads: number };
      this.infoCache = { name: 'wasm', simd: raw.simd, threads: raw.threads };
    }
    return { ...this.infoCache };
  }

  alloc(length: number): Buffer {
    if (typeof length !== 'number') throw typeError('length', `must be a number, got ${typeof length}`);
    if (!Number.isInteger(length) || length < 0 || length > MAX_LENGTH) {
      throw rangeError('length', `must be an integer in [0, ${MAX_LENGTH}], got ${length}`);
    }
    const inst = this.live();
    let raw: RawF32Buffer;
    try {
      raw = new inst.glue.F32Buffer(length);
    } catch (e) {
      if (isTrap(e)) throw this.trapped(inst, `alloc(${length})`, e); // out of memory
      throw new BackendError('wasm', errorText(e), { cause: e });
    }
    return new WasmBuffer(inst, raw, length);
  }

  step(
    kernel: number,
    segments: Float64Array,
    params: Buffer,
    grads: Buffer,
    state: readonly [Buffer | null, Buffer | null, Buffer | null],
  ): void {
    checkKernel(kernel);
    if (!(segments instanceof Float64Array)) throw typeError('segments', 'must be a Float64Array');
    if (!Array.isArray(state) || state.length !== 3) {
      throw typeError('state', 'must be an array of 3 buffers or nulls');
    }
    const p = this.own(params, 'params');
    const inst = p.inst;
    const g = this.own(grads, 'grads', inst);
    const slots = state.map((s, k) => (s === null ? null : this.own(s, `state[${k}]`, inst)));
    const seen = new Map<WasmBuffer, string>([[p, 'params']]);
    const args = [g, ...slots];
    const names = ['grads', 'state[0]', 'state[1]', 'state[2]'];
    for (let i = 0; i < args.length; i++) {
      const b = args[i];
      if (b === null || b === undefined) continue;
      const prev = seen.get(b);
      if (prev !== undefined) throw typeError(names[i], `must be a different buffer from ${prev}`);
      seen.set(b, names[i]);
    }
    const rp = p.handle('params');
    const rg = g.handle('grads');
    const rs = slots.map((s, k) => (s === null ? inst.empties[k] : s.handle(`state[${k}]`)));
    try {
      inst.glue.step(kernel, segments, rp, rg, rs[0], rs[1], rs[2]);
    } catch (e) {
      if (isTrap(e)) throw this.trapped(inst, 'step', e);
      throw fromCoreError('wasm', e);
    }
  }

  /** Panics inside the module on purpose (tests of trap recovery). Always throws BackendError. */
  testTrap(): never {
    const inst = this.live();
    try {
      inst.glue.test_trap();
    } catch (e) {
      if (isTrap(e)) throw this.trapped(inst, 'test_trap', e);
      throw new BackendError('wasm', errorText(e), { cause: e });
    }
    throw new BackendError('wasm', 'test_trap returned without trapping');
  }

  /** Checks `b` is a buffer of this backend (and of `inst` when given). */
  private own(b: unknown, arg: string, inst?: Instance): WasmBuffer {
    if (!(b instanceof WasmBuffer)) throw typeError(arg, 'must be a buffer allocated by this wasm backend');
    if (b.inst.dead) throw deadError(b.inst, arg);
    if (b.disposed) throw typeError(arg, 'buffer has been disposed');
    if (inst !== undefined && b.inst !== inst) {
      throw typeError(arg, `belongs to WebAssembly instance #${b.inst.id}, params to #${inst.id}`);
    }
    if (b.inst !== this.current) throw typeError(arg, 'must be a buffer allocated by this wasm backend');
    return b;
  }
}

async function importGlue(glueUrl: string, n: number): Promise<Glue> {
  const sep = glueUrl.includes('?') ? '&' : '?';
  return (await import(/* @vite-ignore */ `${glueUrl}${sep}instance=${n}`)) as Glue;
}

/** Panics inside the backend's current instance; see `WasmBackend.testTrap`. */
export function wasmTestTrap(backend: Backend): never {
  if (!(backend instanceof WasmBackend)) throw typeError('backend', 'must be a wasm backend');
  return backend.testTrap();
}

/** URL of the glue next to this file's package: `bindings/wasm/downhill_wasm.js`. */
export function defaultGlueUrl(): string {
  return new URL('../../bindings/wasm/downhill_wasm.js', import.meta.url).href;
}

/**
 * Loads the backend from the package's `bindings/wasm/` (read from disk in Node, fetched
 * elsewhere). Throws `BackendError` when the
 * bindings are missing (run `npm run build:wasm`).
 */
export async function loadWasm(): Promise<WasmBackend> {
  const glueUrl = defaultGlueUrl();
  const wasmUrl = new URL('../../bindings/wasm/downhill_wasm_bg.wasm', import.meta.url);
  // Outside Node (a browser importing the package as ES modules) the file is fetched instead.
  if (typeof process === 'undefined' || !process.versions?.node) return loadWasmFrom(glueUrl, wasmUrl);
  let bytes: Uint8Array;
  try {
    const fs = await import('node:fs/promises');
    bytes = await fs.readFile(wasmUrl);
  } catch (e) {
    throw new BackendError('wasm', `cannot read ${wasmUrl.href} (build it with npm run build:wasm): ${errorText(e)}`, {
      cause: e,
    });
  }
  return loadWasmFrom(glueUrl, bytes);
}

/**
 * Loads the backend from an explicit glue URL and module (browsers, bundlers): `wasm` is the
 * `.wasm` file's URL, its bytes, or an already compiled module.
 */
export async function loadWasmFrom(
  glueUrl: string | URL,
  wasm: string | URL | BufferSource | WebAssembly.Module,
): Promise<WasmBackend> {
  let module: WebAssembly.Module;
  try {
    if (wasm instanceof WebAssembly.Module) {
      module = wasm;
    } else if (typeof wasm === 'string' || wasm instanceof URL) {
      const res = await fetch(wasm);
      if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${String(wasm)}`);
      module = await WebAssembly.compile(await res.arrayBuffer());
    } else {
      module = await WebAssembly.compile(wasm);
    }
  } catch (e) {
    throw new BackendError('wasm', `cannot compile the module: ${errorText(e)}`, { cause: e });
  }
  return WasmBackend.create({ glueUrl: String(glueUrl), module });
}
