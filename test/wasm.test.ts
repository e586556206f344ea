// The WASM backend (ts/backend/wasm.ts over bindings/wasm, built by scripts/build-wasm.sh).
// Skipped when the bindings have not been built, except in CI where they must exist.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../ts/errors.js';
import type { Backend, Buffer } from '../ts/backend/types.js';
import { KERNEL, SEG_STRIDE } from '../ts/backend/types.js';
import { loadWasm, wasmTestTrap } from '../ts/backend/wasm.js';

const wasmFile = fileURLToPath(new URL('../bindings/wasm/downhill_wasm_bg.wasm', import.meta.url));
const built = existsSync(wasmFile);
const run = built || process.env.CI === 'true';

const f = Math.fround;

/** `base^exp` by the same sequence of f64 multiplications as crates/core/src/pow.rs. */
function powiExact(base: number, exp: number): number {
  let result = 1;
  let b = base;
  while (exp > 0) {
    if (exp & 1) result *= b;
    exp = Math.floor(exp / 2);
    if (exp > 0) b *= b;
  }
  return result;
}

type Row = {
  offset: number;
  len: number;
  step: number;
  lr: number;
  wd: number;
  maximize: 0 | 1;
  extra: [number, number, number, number];
};

function table(rows: Row[]): Float64Array {
  const t = new Float64Array(rows.length * SEG_STRIDE);
  rows.forEach((r, i) => {
    t.set([r.offset, r.len, r.step, r.lr, r.wd, r.maximize, ...r.extra], i * SEG_STRIDE);
  });
  return t;
}

/** SGD per crates/core/src/optim/sgd.rs, rounding to f32 after every operation. */
function sgdRef(rows: Row[], p: Float32Array, g: Float32Array, buf: Float32Array): void {
  for (const r of rows) {
    const [momentum, dampening, nesterov] = r.extra;
    const sign = r.maximize ? -1 : 1;
    const wd = f(r.wd),
      negLr = f(-r.lr),
      mom = f(momentum),
      omd = f(1 - dampening);
    for (let i = r.offset; i < r.offset + r.len; i++) {
      let d = f(g[i] * sign);
      if (r.wd !== 0) d = f(d + f(wd * p[i]));
      if (momentum !== 0) {
        const v = r.step === 1 ? d : f(f(buf[i] * mom) + f(d * omd));
        buf[i] = v;
        d = nesterov ? f(d + f(v * mom)) : v;
      }
      p[i] = f(p[i] + f(d * negLr));
    }
  }
}

/** Adam per crates/core/src/optim/adam.rs (L2 decay, AMSGrad), f32 after every operation. */
function adamRef(
  rows: Row[],
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array,
): void {
  for (const r of rows) {
    const [beta1, beta2, epsilon, amsgrad] = r.extra;
    const sign = r.maximize ? -1 : 1;
    const wd = f(r.wd),
      b1 = f(beta1),
      omb1 = f(1 - beta1),
      b2 = f(beta2),
      omb2 = f(1 - beta2);
    const bc1 = 1 - powiExact(beta1, r.step);
    const invBc2s = f(1 / Math.sqrt(1 - powiExact(beta2, r.step)));
    const eps = f(epsilon),
      negStep = f(-(r.lr / bc1));
    for (let i = r.offset; i < r.offset + r.len; i++) {
      let gi = f(g[i] * sign);
      const pi = p[i];
      if (r.wd !== 0) gi = f(gi + f(wd * pi));
      const mi = f(f(m[i] * b1) + f(gi * omb1));
      const vi = f(f(v[i] * b2) + f(f(gi * gi) * omb2));
      m[i] = mi;
      v[i] = vi;
      let vh = vi;
      if (amsgrad) {
        vh = f((vmax[i] >= vi ? vmax[i] : vi) + 0);
        vmax[i] = vh;
      }
      const denom = f(f(f(Math.sqrt(vh)) * invBc2s) + eps);
      p[i] = f(pi + f(negStep * f(mi / denom)));
    }
  }
}

function filled(b: Backend, data: number[]): Buffer {
  const buf = b.alloc(data.length);
  buf.view().set(data);
  return buf;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe.skipIf(!run)('wasm backend', () => {
  let be: Awaited<ReturnType<typeof loadWasm>>;
  beforeAll(async () => {
    be = await loadWasm();
  });

  it('reports info', () => {
    expect(be.name).toBe('wasm');
    expect(be.info()).toEqual({ name: 'wasm', simd: 'simd128', threads: 1 });
  });

  it('SGD on a 2-segment table matches a hand computation in f32, bit for bit', () => {
    const p0 = [0.5, -1.25, 3, 7, 0.1, -0.3];
    const g0 = [0.2, -0.7, 1.5, 9, -0.05, 0.4];
    const rows: Row[] = [
      { offset: 0, len: 3, step: 1, lr: 0.1, wd: 0.01, maximize: 0, extra: [0.9, 0, 1, 0] },
      { offset: 4, len: 2, step: 1, lr: 0.05, wd: 0, maximize: 1, extra: [0, 0, 0, 0] },
    ];
    const p = filled(be, p0),
      g = filled(be, g0),
      buf = be.alloc(6);
    const rp = Float32Array.from(p0),
      rg = Float32Array.from(g0),
      rbuf = new Float32Array(6);
    for (let t = 1; t <= 3; t++) {
      for (const r of rows) r.step = t;
      be.step(KERNEL.SGD, table(rows), p, g, [buf, null, null]);
      sgdRef(rows, rp, rg, rbuf);
      expect(bits(p.view())).toEqual(bits(rp));
      expect(bits(buf.view())).toEqual(bits(rbuf));
    }
    expect(p.view()[3]).toBe(7); // between the segments: untouched
    expect(rp[0]).not.toBe(f(0.5));
    for (const x of [p, g, buf]) x.dispose();
  });

  it('Adam on a 2-segment table matches a hand computation in f32, bit for bit', () => {
    const p0 = [0.5, -1.25, 3, 0.1, -0.3];
    const g0 = [0.2, -0.7, 1.5, -0.05, 0.4];
    const m0 = [0.01, -0.02, 0.3, 0, 0];
    const v0 = [0.001, 0.002, 0.5, 0, 0];
    const x0 = [0.002, 0.001, 0.6, 0, 0];
    const rows: Row[] = [
      { offset: 0, len: 3, step: 3, lr: 0.01, wd: 0.1, maximize: 0, extra: [0.9, 0.999, 1e-8, 1] },
      { offset: 3, len: 2, step: 1, lr: 0.001, wd: 0, maximize: 1, extra: [0.8, 0.99, 1e-6, 0] },
    ];
    const p = filled(be, p0),
      g = filled(be, g0);
    const m = filled(be, m0),
      v = filled(be, v0),
      x = filled(be, x0);
    const [rp, rg, rm, rv, rx] = [p0, g0, m0, v0, x0].map((a) => Float32Array.from(a));
    for (let k = 0; k < 3; k++) {
      be.step(KERNEL.Adam, table(rows), p, g, [m, v, x]);
      adamRef(rows, rp, rg, rm, rv, rx);
      expect(bits(p.view())).toEqual(bits(rp));
      expect(bits(m.view())).toEqual(bits(rm));
      expect(bits(v.view())).toEqual(bits(rv));
      expect(bits(x.view())).toEqual(bits(rx));
      for (const r of rows) r.step++;
    }
    // The first Adam step moves each parameter by about lr against the gradient's sign.
    expect(Math.abs(rp[3] - f(0.1) - -3 * 0.001)).toBeLessThan(1e-5);
    for (const b of [p, g, m, v, x]) b.dispose();
  });

  it('keeps views valid across memory growth', () => {
    const small = filled(be, [1, 2, 3, 4]);
    const before = small.view();
    const grads = filled(be, [1, 1, 1, 1]);
    const memBefore = before.buffer;
    const big = be.alloc(16 * 1024 * 1024); // 64 MiB: forces memory.grow
    expect(big.view().length).toBe(16 * 1024 * 1024);
    expect(memBefore.byteLength).toBe(0); // growth detached the old ArrayBuffer
    const after = small.view();
    expect(after.buffer).not.toBe(memBefore);
    expect(Array.from(after)).toEqual([1, 2, 3, 4]);
    after[2] = 10; // writes through to wasm memory: the step sees it
    const row = table([{ offset: 0, len: 4, step: 1, lr: 0.5, wd: 0, maximize: 0, extra: [0, 0, 0, 0] }]);
    be.step(KERNEL.SGD, row, small, grads, [null, null, null]);
    expect(Array.from(small.view())).toEqual([0.5, 1.5, 9.5, 3.5]);
    expect(small.view()).toBe(small.view()); // cached while memory is unchanged
    big.dispose();
    small.dispose();
    grads.dispose();
    expect(small.disposed).toBe(true);
    small.dispose(); // idempotent
    expect(() => small.view()).toThrow(TypeError);
  });

  it('rejects bad arguments with a RangeError/TypeError naming the argument, buffers untouched', () => {
    const p = filled(be, [1, 2, 3]),
      g = filled(be, [0.5, 0.5, 0.5]),
      m = be.alloc(3),
      v = be.alloc(3);
    const ok: Row = { offset: 0, len: 3, step: 1, lr: 0.1, wd: 0, maximize: 0, extra: [0.9, 0.999, 1e-8, 0] };
    const snap = () => [p, g, m, v].map((b) => bits(b.view()));
    const before = snap();
    const expectErr = (fn: () => void, cls: typeof RangeError | typeof TypeError, arg: string) => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message.startsWith(`${arg}: `)).toBe(true);
      expect(snap()).toEqual(before);
    };
    expectErr(() => be.step(KERNEL.Adam, table([{ ...ok, lr: -1 }]), p, g, [m, v, null]), RangeError, 'segments[0].lr');
    expectErr(
      () =>
        be.step(KERNEL.Adam, table([ok, { ...ok, offset: 2, len: 1, extra: [1.5, 0.999, 0, 0] }]), p, g, [m, v, null]),
      RangeError,
      'segments[1].offset',
    );
    expectErr(
      () => be.step(KERNEL.Adam, table([{ ...ok, extra: [1.5, 0.999, 0, 0] }]), p, g, [m, v, null]),
      RangeError,
      'segments[0].beta1',
    );
    expectErr(
      () => be.step(KERNEL.Adam, table([{ ...ok, len: 4 }]), p, g, [m, v, null]),
      RangeError,
      'segments[0].len',
    );
    expectErr(() => be.step(KERNEL.Adam, table([ok]), p, g, [m, null, null]), RangeError, 'state[1] (exp_avg_sq)');
    expectErr(() => be.step(KERNEL.Adam, table([ok]).subarray(0, 7), p, g, [m, v, null]), TypeError, 'segments');
    expectErr(() => be.step(9, table([ok]), p, g, [m, v, null]), RangeError, 'kernel');
    expectErr(() => be.step(KERNEL.Adam, table([ok]), p, p, [m, v, null]), TypeError, 'grads');
    expectErr(() => be.step(KERNEL.Adam, table([ok]), p, g, [m, m, null]), TypeError, 'state[1]');
    const short = be.alloc(2);
    expectErr(() => be.step(KERNEL.Adam, table([{ ...ok, len: 2 }]), p, short, [m, v, null]), RangeError, 'grads');
    expect(() => be.alloc(-1)).toThrow(RangeError);
    expect(() => be.alloc(1.5)).toThrow(/^length: /);
    // The instance is still fine after argument errors.
    be.step(KERNEL.Adam, table([ok]), p, g, [m, v, null]);
    expect(bits(p.view())).not.toEqual(before[0]);
    for (const b of [p, g, m, v, short]) b.dispose();
  });

  it('recovers from a trap: old buffers throw BackendError, new ones work', async () => {
    const p = filled(be, [1, 2]),
      g = filled(be, [0.5, -0.5]);
    const row = table([{ offset: 0, len: 2, step: 1, lr: 0.1, wd: 0, maximize: 0, extra: [0, 0, 0, 0] }]);
    expect(() => wasmTestTrap(be)).toThrow(BackendError);
    expect(() => p.view()).toThrow(BackendError);
    expect(() => g.view()).toThrow(/trapped.*buffers are lost/);
    expect(() => be.step(KERNEL.SGD, row, p, g, [null, null, null])).toThrow(BackendError);
    p.dispose(); // forgetting a dead buffer is allowed
    expect(p.disposed).toBe(true);
    // A fresh instance is ready synchronously (a spare glue copy is always pre-imported).
    const p2 = filled(be, [1, 2]),
      g2 = filled(be, [0.5, -0.5]);
    expect(() => be.step(KERNEL.SGD, row, p2, g, [null, null, null])).toThrow(BackendError);
    be.step(KERNEL.SGD, row, p2, g2, [null, null, null]);
    const want = Float32Array.from([1, 2]);
    sgdRef(
      [{ offset: 0, len: 2, step: 1, lr: 0.1, wd: 0, maximize: 0, extra: [0, 0, 0, 0] }],
      want,
      Float32Array.from([0.5, -0.5]),
      new Float32Array(2),
    );
    expect(bits(p2.view())).toEqual(bits(want));
    expect(be.info().simd).toBe('simd128');
    // Two traps in a row also recover (after ready() at worst).
    expect(() => wasmTestTrap(be)).toThrow(BackendError);
    expect(() => p2.view()).toThrow(BackendError);
    await be.ready();
    const p3 = filled(be, [1, 2]),
      g3 = filled(be, [0.5, -0.5]);
    be.step(KERNEL.SGD, row, p3, g3, [null, null, null]);
    expect(bits(p3.view())).toEqual(bits(want));
  });
});
