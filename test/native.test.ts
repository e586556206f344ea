/**
 * The native addon (crates/napi) through the native backend (ts/backend/native.ts).
 *
 * Skipped when bindings/native/downhill.node has not been built, except in CI, where a missing
 * addon must fail. Build it with `bash scripts/build-native.sh`.
 */
import { powiExact } from '../ts/kernels/pow.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNative, nativeTestPanic } from '../ts/backend/native.js';
import type { Backend, Buffer } from '../ts/backend/types.js';
import { KERNEL, SEG_STRIDE } from '../ts/backend/types.js';

const ADDON = fileURLToPath(new URL('../bindings/native/downhill.node', import.meta.url));
const RUN = existsSync(ADDON) || process.env.CI === 'true';

const f = Math.fround;

/** A `Buffer` over an array the test owns (so it can be a subarray or shared between args). */
function wrap(a: Float32Array): Buffer {
  return { length: a.length, disposed: false, view: () => a, dispose: () => {} };
}

/** One row of the segment table (crates/core/src/segment.rs). */
function row(r: {
  offset: number;
  len: number;
  step: number;
  lr: number;
  weightDecay?: number;
  maximize?: boolean;
  extra?: [number, number, number, number];
}): number[] {
  const e = r.extra ?? [0, 0, 0, 0];
  return [r.offset, r.len, r.step, r.lr, r.weightDecay ?? 0, r.maximize ? 1 : 0, ...e];
}

/** Deterministic pseudo-random f32 values in [-1, 1). */
function randomArray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe.skipIf(!RUN)('native backend (bindings/native/downhill.node)', () => {
  const backend: Backend = RUN ? loadNative() : (undefined as unknown as Backend);

  it('loads and reports itself', () => {
    expect(existsSync(ADDON)).toBe(true);
    const info = backend.info();
    expect(info.name).toBe('native');
    expect(['avx2', 'sse2', 'scalar']).toContain(info.simd);
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });

  it('SGD over two segments matches a hand computation exactly', () => {
    // seg 0: first momentum step with L2 decay and dampening; element 3: in no segment;
    // seg 1: running Nesterov momentum, maximize.
    const p0 = [0.5, -1.25, 2, 7, 0.3, -0.7];
    const g0 = [0.1, 0.2, -0.3, 9, 1.5, -0.25];
    const b0 = [0, 0, 0, 3, 0.2, -0.4];
    const seg0 = { lr: 0.1, wd: 0.01, mom: 0.9, damp: 0.1 };
    const seg1 = { lr: 0.05, mom: 0.5 };
    const segments = new Float64Array([
      ...row({ offset: 0, len: 3, step: 1, lr: seg0.lr, weightDecay: seg0.wd, extra: [seg0.mom, seg0.damp, 0, 0] }),
      ...row({ offset: 4, len: 2, step: 3, lr: seg1.lr, maximize: true, extra: [seg1.mom, 0, 1, 0] }),
    ]);
    const p = new Float32Array(p0);
    const buf = new Float32Array(b0);
    backend.step(KERNEL.SGD, segments, wrap(p), wrap(new Float32Array(g0)), [wrap(buf), null, null]);

    const want = new Float32Array(p0);
    const wantBuf = new Float32Array(b0);
    // crates/core/src/optim/sgd.rs, every f32 operation rounded.
    for (let i = 0; i < 3; i++) {
      const pi = f(p0[i]);
      let d = f(f(g0[i]) * 1);
      d = f(d + f(f(seg0.wd) * pi));
      const v = d; // t = 1: the buffer starts as the gradient
      wantBuf[i] = v;
      d = v;
      want[i] = f(pi + f(d * f(-seg0.lr)));
    }
    for (let i = 4; i < 6; i++) {
      const pi = f(p0[i]);
      let d = f(f(g0[i]) * -1);
      const v = f(f(f(b0[i]) * f(seg1.mom)) + f(d * f(1 - 0)));
      wantBuf[i] = v;
      d = f(d + f(v * f(seg1.mom)));
      want[i] = f(pi + f(d * f(-seg1.lr)));
    }
    expect(Array.from(p)).toEqual(Array.from(want));
    for (let i = 0; i < 6; i++) expect(p[i]).toBe(want[i]);
    for (let i = 0; i < 6; i++) expect(buf[i]).toBe(wantBuf[i]);
    expect(p[3]).toBe(f(7));
  });

  it('Adam over two segments matches a hand computation exactly', () => {
    const n = 7;
    const p0 = randomArray(n, 1);
    const g0 = randomArray(n, 2);
    const m0 = randomArray(n, 3).map((x) => x * 0.1);
    const v0 = randomArray(n, 4).map((x) => x * x * 0.01);
    const vmax0 = v0.map((x, i) => (i % 2 ? x * 2 : x * 0.5));
    // seg 0: plain Adam at t = 1 (slots 0..3); seg 1: AMSGrad + L2 + maximize at t = 5 (3..7).
    const s0 = { lr: 1e-3, wd: 0, b1: 0.9, b2: 0.999, eps: 1e-8, ams: false, max: false, t: 1 };
    const s1 = { lr: 0.01, wd: 0.1, b1: 0.8, b2: 0.99, eps: 1e-6, ams: true, max: true, t: 5 };
    const segments = new Float64Array([
      ...row({ offset: 0, len: 3, step: s0.t, lr: s0.lr, extra: [s0.b1, s0.b2, s0.eps, 0] }),
      ...row({
        offset: 3,
        len: 4,
        step: s1.t,
        lr: s1.lr,
        weightDecay: s1.wd,
        maximize: true,
        extra: [s1.b1, s1.b2, s1.eps, 1],
      }),
    ]);
    const p = p0.slice();
    const m = m0.slice();
    const v = v0.slice();
    const vmax = vmax0.slice();
    backend.step(KERNEL.Adam, segments, wrap(p), wrap(g0.slice()), [wrap(m), wrap(v), wrap(vmax)]);

    const want = p0.slice();
    const wm = m0.slice();
    const wv = v0.slice();
    const wvmax = vmax0.slice();
    // crates/core/src/optim/adam.rs: scalars in f64 rounded once, element math in f32.
    const seg = (s: typeof s0, from: number, to: number) => {
      const sign = s.max ? -1 : 1;
      const bc1 = 1 - powiExact(s.b1, s.t);
      const bc2 = 1 - powiExact(s.b2, s.t);
      const [wd, b1, omb1, b2, omb2] = [f(s.wd), f(s.b1), f(1 - s.b1), f(s.b2), f(1 - s.b2)];
      const [invBc2s, eps, negStep] = [f(1 / Math.sqrt(bc2)), f(s.eps), f(-(s.lr / bc1))];
      for (let i = from; i < to; i++) {
        let gi = f(g0[i] * sign);
        const pi = p0[i];
        if (s.wd !== 0) gi = f(gi + f(wd * pi));
        const mi = f(f(m0[i] * b1) + f(gi * omb1));
        const vi = f(f(v0[i] * b2) + f(f(gi * gi) * omb2));
        wm[i] = mi;
        wv[i] = vi;
        let vh = vi;
        if (s.ams) {
          vh = f((vmax0[i] >= vi ? vmax0[i] : vi) + 0);
          wvmax[i] = vh;
        }
        const denom = f(f(f(Math.sqrt(vh)) * invBc2s) + eps);
        want[i] = f(pi + f(negStep * f(mi / denom)));
      }
    };
    seg(s0, 0, 3);
    seg(s1, 3, 7);
    for (let i = 0; i < n; i++) {
      expect(p[i]).toBe(want[i]);
      expect(m[i]).toBe(wm[i]);
      expect(v[i]).toBe(wv[i]);
      expect(vmax[i]).toBe(wvmax[i]);
    }
    // The step moved something (guards against a no-op passing by accident).
    expect(Array.from(p)).not.toEqual(Array.from(p0));
  });

  it("mutates the caller's Float32Array in place, also at a byte offset", () => {
    const buf = backend.alloc(4);
    const arr = buf.view();
    arr.set([1, 2, 3, 4]);
    const segments = new Float64Array(row({ offset: 0, len: 4, step: 1, lr: 0.5 }));
    backend.step(KERNEL.SGD, segments, buf, wrap(new Float32Array([1, 1, 1, 1])), [null, null, null]);
    expect(buf.view()).toBe(arr);
    expect(Array.from(arr)).toEqual([0.5, 1.5, 2.5, 3.5]);

    // A view into the middle of a larger ArrayBuffer: only its own elements change.
    const whole = new Float32Array([9, 9, 1, 2, 3, 4, 9, 9]);
    const mid = whole.subarray(2, 6);
    backend.step(KERNEL.SGD, segments, wrap(mid), wrap(new Float32Array([1, 1, 1, 1])), [null, null, null]);
    expect(Array.from(whole)).toEqual([9, 9, 0.5, 1.5, 2.5, 3.5, 9, 9]);
  });

  it('turns a Rust panic into a JS Error and keeps working', () => {
    let caught: unknown;
    try {
      nativeTestPanic('boom from the test');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).message).toMatch(/panic: boom from the test/);
    const p = new Float32Array([1]);
    backend.step(
      KERNEL.SGD,
      new Float64Array(row({ offset: 0, len: 1, step: 1, lr: 0.5 })),
      wrap(p),
      wrap(new Float32Array([1])),
      [null, null, null],
    );
    expect(p[0]).toBe(0.5);
  });

  it('rejects a grads array of the wrong length with a RangeError naming grads', () => {
    const segments = new Float64Array(row({ offset: 0, len: 3, step: 1, lr: 0.1 }));
    const p = new Float32Array([1, 2, 3]);
    expect(() => backend.step(KERNEL.SGD, segments, wrap(p), wrap(new Float32Array(2)), [null, null, null])).toThrow(
      RangeError,
    );
    expect(() => backend.step(KERNEL.SGD, segments, wrap(p), wrap(new Float32Array(2)), [null, null, null])).toThrow(
      /^grads: /,
    );
    expect(Array.from(p)).toEqual([1, 2, 3]);
  });

  it('rejects a NaN lr with a RangeError naming segments[0].lr and leaves params unchanged', () => {
    const segments = new Float64Array([
      ...row({ offset: 0, len: 2, step: 1, lr: NaN }),
      ...row({ offset: 2, len: 1, step: 1, lr: 0.1 }),
    ]);
    const p = new Float32Array([1, 2, 3]);
    let caught: unknown;
    try {
      backend.step(KERNEL.SGD, segments, wrap(p), wrap(new Float32Array([1, 1, 1])), [null, null, null]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toMatch(/^segments\[0\]\.lr: /);
    expect(Array.from(p)).toEqual([1, 2, 3]);
  });

  it('rejects aliased buffers with a RangeError before touching them', () => {
    const segments = new Float64Array(row({ offset: 0, len: 4, step: 1, lr: 0.1 }));
    const p = new Float32Array([1, 2, 3, 4]);
    const same = wrap(p);
    expect(() => backend.step(KERNEL.SGD, segments, same, same, [null, null, null])).toThrow(RangeError);
    expect(() => backend.step(KERNEL.SGD, segments, same, same, [null, null, null])).toThrow(/^grads: overlaps params/);

    // Partial overlap: two views of one ArrayBuffer sharing two elements.
    const whole = new Float32Array(6);
    expect(() =>
      backend.step(KERNEL.SGD, segments, wrap(whole.subarray(0, 4)), wrap(whole.subarray(2, 6)), [null, null, null]),
    ).toThrow(RangeError);
    // A state slot aliasing params.
    const adamSegs = new Float64Array(row({ offset: 0, len: 4, step: 1, lr: 0.1, extra: [0.9, 0.999, 1e-8, 0] }));
    expect(() =>
      backend.step(KERNEL.Adam, adamSegs, same, wrap(new Float32Array(4)), [wrap(new Float32Array(4)), same, null]),
    ).toThrow(/overlaps params/);
    expect(Array.from(p)).toEqual([1, 2, 3, 4]);
    // Adjacent (touching, not overlapping) views are fine.
    const adj = new Float32Array([1, 2, 3, 4, 1, 1, 1, 1]);
    backend.step(KERNEL.SGD, segments, wrap(adj.subarray(0, 4)), wrap(adj.subarray(4, 8)), [null, null, null]);
    expect(Array.from(adj.subarray(0, 4))).toEqual([1, 2, 3, 4].map((x) => f(x + f(1 * f(-0.1)))));
  });

  it('a large multi-threaded Adam step is bit-identical to the same step in small serial pieces', () => {
    const n = 1 << 20; // one segment >= PAR_MIN_LEN (1 << 18): split across threads
    const piece = 1 << 16; // below PAR_MIN_LEN: each row runs on one thread
    const hyper = { lr: 3e-3, weightDecay: 0.01, extra: [0.9, 0.999, 1e-8, 1] as [number, number, number, number] };
    const g = randomArray(n, 7);
    const start = randomArray(n, 8);
    const run = (rows: number[][]) => {
      const p = start.slice();
      const state = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      for (let t = 1; t <= 3; t++) {
        for (const r of rows) r[2] = t;
        const table = new Float64Array(rows.flat());
        expect(table.length).toBe(rows.length * SEG_STRIDE);
        backend.step(KERNEL.Adam, table, wrap(p), wrap(g), [wrap(state[0]), wrap(state[1]), wrap(state[2])]);
      }
      return [p, ...state];
    };
    const big = run([row({ offset: 0, len: n, step: 1, ...hyper })]);
    const rows: number[][] = [];
    for (let off = 0; off < n; off += piece) rows.push(row({ offset: off, len: piece, step: 1, ...hyper }));
    const small = run(rows);
    for (let k = 0; k < 4; k++) {
      const a = bits(big[k]);
      const b = bits(small[k]);
      let firstDiff = -1;
      for (let i = 0; i < n; i++) {
        if (a[i] !== b[i]) {
          firstDiff = i;
          break;
        }
      }
      expect(firstDiff, `buffer ${k} differs at ${firstDiff}`).toBe(-1);
    }
    expect(Array.from(big[0].subarray(0, 4))).not.toEqual(Array.from(start.subarray(0, 4)));
  });

  it('the bound step (ArrayBuffers across the boundary) equals the unbound step bit for bit', () => {
    const n = 1000;
    const table = Float64Array.from(
      [
        row({ offset: 0, len: 600, step: 3, lr: 0.01, weightDecay: 0.1, extra: [0.9, 0.999, 1e-8, 1] }),
        row({ offset: 600, len: 400, step: 3, lr: 0.001, maximize: true, extra: [0.8, 0.99, 1e-6, 1] }),
      ].flat(),
    );
    const make = () => {
      const bufs = [0, 1, 2, 3, 4].map((k) => {
        const b = backend.alloc(n);
        b.view().set(randomArray(n, 10 + k).map((x) => (k >= 3 ? Math.abs(x) : x)));
        return b;
      });
      return bufs;
    };
    const [p1, g1, a1, b1, c1] = make();
    const [p2, g2, a2, b2, c2] = make();
    backend.step(KERNEL.Adam, table, p1, g1, [a1, b1, c1]);
    const bound = backend.bind!(p2, g2, [a2, b2, c2]);
    bound(KERNEL.Adam, table);
    for (const [x, y] of [
      [p1, p2],
      [a1, a2],
      [b1, b2],
      [c1, c2],
    ])
      expect(bits(y.view())).toEqual(bits(x.view()));
    // A segment table that is a subarray takes the typed-array route, with the same result.
    const [p3, g3, a3, b3, c3] = make();
    const padded = new Float64Array(table.length + SEG_STRIDE);
    padded.set(table, SEG_STRIDE);
    backend.bind!(p3, g3, [a3, b3, c3])(KERNEL.Adam, padded.subarray(SEG_STRIDE));
    expect(bits(p3.view())).toEqual(bits(p1.view()));
    // Errors are the unbound step's.
    const bad = table.slice();
    bad[3] = -1;
    const before = p2.view().slice();
    expect(() => bound(KERNEL.Adam, bad)).toThrow(/^segments\[0\]\.lr: must be finite and >= 0, got -1$/);
    expect(bits(p2.view())).toEqual(bits(before));
    p2.dispose();
    expect(() => bound(KERNEL.Adam, table)).toThrow(/native backend: buffer used after dispose\(\)/);
  });

  it('stepBuffers rejects non-buffers, ragged or overlapping buffers by name', async () => {
    const { createRequire } = await import('node:module');
    const addon = createRequire(import.meta.url)(ADDON);
    const seg = new Float64Array(0).buffer;
    const ab = (n: number) => new ArrayBuffer(n);
    const e = () => ab(0);
    expect(() => addon.stepBuffers(0, seg, new Float32Array(4), ab(16), e(), e(), e())).toThrow(
      /^\[type\] params: must be an ArrayBuffer$/,
    );
    expect(() => addon.stepBuffers(0, seg, ab(16), ab(14), e(), e(), e())).toThrow(/^\[type\] grads: byte length 14/);
    const shared = ab(16);
    expect(() => addon.stepBuffers(0, seg, shared, ab(16), shared, e(), e())).toThrow(
      /^\[range\] state\[0\]: overlaps params$/,
    );
  });
});
