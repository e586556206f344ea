/**
 * The core's vector ops and portable math against independent f64 references, and the three
 * backends against each other: fixed-order reductions and element ops give the same bits on
 * native (any thread count), WASM and pure TS, in float32 and float64.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Buffer, DType } from '../ts/backend/types.js';
import { OP } from '../ts/generated/specs.js';
import { ownedVectorArgs, vectorArgs, type Segment } from '../ts/ops.js';
import { backends, bits, digest, DTYPES, inputs } from './helpers.js';

const { ready } = await backends();

interface Setup {
  heap: ReturnType<Backend['createHeap']>;
  a: Buffer;
  b: Buffer;
  c: Buffer;
}

function setup(backend: Backend, dtype: DType, n: number): Setup {
  const heap = backend.createHeap();
  const mk = (seed: number) => {
    const buf = heap.alloc(dtype, n);
    buf.view().set(inputs(n, seed));
    return buf;
  };
  return { heap, a: mk(1), b: mk(2), c: mk(3) };
}

/** Runs `op` on every backend and returns the outputs and the buffers' bits. */
function everywhere(dtype: DType, n: number, op: number, segs: Segment[], scalars: number[], outputs: number) {
  return ready.map((backend) => {
    const s = setup(backend, dtype, n);
    const args = vectorArgs(segs, scalars, outputs);
    s.heap.run(op, dtype, args, [s.a, s.b, s.c]);
    const out = {
      outputs: [...args.subarray(args.length - outputs)],
      a: digest(s.a.view()),
      b: digest(s.b.view()),
      c: digest(s.c.view()),
    };
    s.heap.dispose();
    return out;
  });
}

// Long enough to split across threads on native and to span several reduction blocks.
const N = 300_001;
const SEGS: Segment[] = [
  { a: 0, b: 7, c: 3, len: 200_000 },
  { a: 250_000, b: 200_100, c: 250_000, len: 50_001 },
];
const CASES: [string, number, number[], number][] = [
  ['DOT', OP.DOT, [], 1],
  ['AXPY', OP.AXPY, [0.37], 0],
  ['SCALE', OP.SCALE, [-1.5], 0],
  ['COPY', OP.COPY, [], 0],
  ['FILL', OP.FILL, [0.25], 0],
  ['LINCOMB', OP.LINCOMB, [0.3, -2], 0],
  ['LERP', OP.LERP, [0.001], 0],
  ['SWAP', OP.SWAP, [], 0],
  ['NORM p=1', OP.NORM, [1], 1],
  ['NORM p=2', OP.NORM, [2], 1],
  ['NORM p=inf', OP.NORM, [Infinity], 1],
  ['NORM p=3', OP.NORM, [3], 1],
  ['CLIP_NORM', OP.CLIP_NORM, [1, 2, 0], 2],
  ['CLIP_VALUE', OP.CLIP_VALUE, [0.5], 0],
  ['NONFINITE', OP.NONFINITE, [], 1],
];

describe.each(DTYPES)('vector ops in %s', (dtype) => {
  it.each(CASES)('%s gives the same bits on every backend', (_, op, scalars, outputs) => {
    const [first, ...rest] = everywhere(dtype, N, op, SEGS, scalars, outputs);
    for (const r of rest) expect(r).toEqual(first);
  });

  it('reductions agree with an f64 reference', () => {
    const a = inputs(N, 1);
    const b = inputs(N, 2);
    const round = dtype === 'float32' ? Math.fround : (x: number) => x;
    const ra = a.map(round);
    const rb = b.map(round);
    let dot = 0;
    let l1 = 0;
    let l2 = 0;
    let linf = 0;
    for (const s of SEGS) {
      for (let i = 0; i < s.len; i++) {
        dot += ra[s.a + i] * rb[(s.b ?? 0) + i];
        l1 += Math.abs(ra[s.a + i]);
        l2 += ra[s.a + i] ** 2;
        linf = Math.max(linf, Math.abs(ra[s.a + i]));
      }
    }
    const [r] = everywhere(dtype, N, OP.DOT, SEGS, [], 1);
    expect(Math.abs(r.outputs[0] / dot - 1)).toBeLessThan(1e-12);
    expect(Math.abs(everywhere(dtype, N, OP.NORM, SEGS, [1], 1)[0].outputs[0] / l1 - 1)).toBeLessThan(1e-12);
    expect(Math.abs(everywhere(dtype, N, OP.NORM, SEGS, [2], 1)[0].outputs[0] / Math.sqrt(l2) - 1)).toBeLessThan(1e-12);
    expect(everywhere(dtype, N, OP.NORM, SEGS, [Infinity], 1)[0].outputs[0]).toBe(linf);
  });
});

describe('portable math', () => {
  it('exp, ln and pow give the same bits on every backend and are within a few ulps of Math', () => {
    const xs = [1e-300, 1e-10, 0.004, 0.5, 0.96, 1, 1.5, 2, 10, 123.456, 1e10, 1e300, 5e-324];
    for (const [f, x, y] of xs.flatMap((x) => [
      [0, Math.log(x), 0],
      [1, x, 0],
      [2, x, -0.8],
      [2, x, 0.004 * 7],
    ])) {
      const got = ready.map((b) => {
        const heap = b.createHeap();
        const args = Float64Array.of(f, x, y, 0);
        heap.run(OP.MATH, 'float64', args, []);
        heap.dispose();
        return args[3];
      });
      for (const g of got) expect(Object.is(g, got[0]), `f${f}(${x}, ${y})`).toBe(true);
      const want = f === 0 ? Math.exp(x) : f === 1 ? Math.log(x) : Math.pow(x, y);
      // exp and ln are within an ulp; pow = exp(y·ln x) loses about |y·ln x| ulps, as documented.
      const ulps = f === 2 ? 2 + Math.abs(y * Math.log(x)) : 2;
      if (Number.isFinite(want) && want !== 0)
        expect(Math.abs(got[0] - want) / Math.abs(want)).toBeLessThan(ulps * 2.3e-16);
    }
  });
});

describe.each(ready.map((b) => [b.name, b] as const))('op arguments on %s', (_, backend) => {
  it('bad arguments are typed errors naming them, and nothing changes', () => {
    const s = setup(backend, 'float32', 10);
    const before = bits(s.a.view());
    const run = (op: number, args: Float64Array, bufs: (Buffer | null)[]) => () =>
      s.heap.run(op, 'float32', args, bufs);
    expect(run(OP.AXPY, vectorArgs([{ a: 0, b: 5, len: 6 }], [1]), [s.a, s.b])).toThrow(
      new RangeError('args[2]: segment 0: range 5..5+6 exceeds buffers[1] of length 10'),
    );
    expect(run(OP.SCALE, vectorArgs([{ a: 0, len: 3 }], [NaN]), [s.a])).toThrow(/^args\[5\]: must not be NaN$/);
    expect(run(OP.NORM, vectorArgs([{ a: 0, len: 3 }], [0], 1), [s.a])).toThrow(
      /^args\[5\] \(norm_type\): must be > 0/,
    );
    expect(run(99, new Float64Array(1), [])).toThrow(new RangeError('op: unknown op code 99'));
    expect(run(OP.COPY, vectorArgs([{ a: 0, b: 0, len: 3 }]), [s.a, s.a])).toThrow(
      /^buffers\[1\]: must be a different buffer/,
    );
    const other = backend.createHeap().alloc('float32', 10);
    expect(run(OP.COPY, vectorArgs([{ a: 0, b: 0, len: 3 }]), [s.a, other])).toThrow(
      /^buffers\[1\]: belongs to another heap/,
    );
    const f64 = s.heap.alloc('float64', 10);
    expect(run(OP.COPY, vectorArgs([{ a: 0, b: 0, len: 3 }]), [s.a, f64])).toThrow(
      /^buffers\[1\]: holds float64 elements/,
    );
    expect(() => s.heap.run(OP.SCALE, 'float16' as DType, vectorArgs([]), [])).toThrow(
      /^dtype: must be "float32" or "float64"/,
    );
    expect(run(OP.SCALE, [1, 0, 0, 0, 3, 2] as unknown as Float64Array, [s.a])).toThrow(
      /^args: must be a Float64Array/,
    );
    expect(bits(s.a.view())).toEqual(before);
    s.heap.dispose();
    expect(() => s.a.view()).toThrow(/after dispose/);
  });
});

describe('ownedVectorArgs', () => {
  it('refills one array per owner and length, with the layout of vectorArgs and the outputs zeroed', () => {
    const segs: Segment[] = [
      { a: 3, b: 1, len: 4 },
      { a: 9, c: 2, len: 5 },
    ];
    const owner = {};
    const first = ownedVectorArgs(owner, segs, [0.5, -2], 1);
    expect([...first]).toEqual([...vectorArgs(segs, [0.5, -2], 1)]);
    // An op wrote its output; the next fill of the same length must not leave it there.
    first[first.length - 1] = 42;
    const again = ownedVectorArgs(owner, [{ a: 0, len: 7 }, segs[1]], [1.5, 3], 1);
    expect(again).toBe(first);
    expect([...again]).toEqual([...vectorArgs([{ a: 0, len: 7 }, segs[1]], [1.5, 3], 1)]);
    // Another length or another owner gets an array of its own, on an ArrayBuffer of its own.
    const shorter = ownedVectorArgs(owner, segs, [], 0);
    expect(shorter).not.toBe(first);
    expect(shorter.length).toBe(9);
    expect(ownedVectorArgs({}, segs, [0.5, -2], 1)).not.toBe(first);
    expect(first.byteOffset === 0 && first.buffer.byteLength === first.byteLength).toBe(true);
  });
});
