import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../ts/train/safetensors.js';
import { CheckpointError } from '../ts/train/errors.js';
import { findPython, runPython } from './python.js';

const a = Float32Array.from([1, -2.5, 3e-39, -0, Infinity, NaN]);
const b = Float64Array.from([Math.PI, -1e300, 5e-324, 0]);

function sample(): Uint8Array {
  return encodeSafetensors(
    { 'layer0.weight': { shape: [2, 3], data: a }, 'layer0.bias': { shape: [4], data: b } },
    { format: 'pt', note: 'ü' },
  );
}

describe('safetensors', () => {
  it('lays the file out as the spec says: u64 LE header length, JSON header, aligned data', () => {
    const bytes = sample();
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{')).toBe(true);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'ü' });
    expect(header['layer0.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header['layer0.bias']).toEqual({ dtype: 'F64', shape: [4], data_offsets: [24, 56] });
    expect(bytes.length).toBe(8 + n + 56);
    // Raw little-endian bytes.
    const dv = new DataView(bytes.buffer, 8 + n);
    expect(dv.getFloat32(4, true)).toBe(-2.5);
    expect(dv.getFloat64(24, true)).toBe(Math.PI);
  });

  it('round-trips every bit (−0, subnormals, ∞, NaN)', () => {
    const { tensors, metadata } = decodeSafetensors(sample());
    expect(metadata.note).toBe('ü');
    const w = tensors.get('layer0.weight');
    expect(w?.shape).toEqual([2, 3]);
    expect(new Uint8Array((w?.data as Float32Array).buffer)).toEqual(new Uint8Array(a.buffer));
    expect(new Uint8Array((tensors.get('layer0.bias')?.data as Float64Array).buffer)).toEqual(new Uint8Array(b.buffer));
  });

  it('rejects damaged files with a CheckpointError naming the problem', () => {
    const good = sample();
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(/shorter than the 8-byte/);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 1))).toThrow(/cover|past the/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeSafetensors(huge)).toThrow(CheckpointError);
    const make = (header: object, data = 0) => {
      const h = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + h.length + data);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(() => decodeSafetensors(make({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4))).toThrow(
      /needs 8/,
    );
    expect(() => decodeSafetensors(make({ x: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, 4))).toThrow(
      /unknown dtype/,
    );
    expect(() =>
      decodeSafetensors(
        make(
          {
            x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
            y: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
          },
          12,
        ),
      ),
    ).toThrow(/contiguous/);
    expect(() => decodeSafetensors(make({ __metadata__: { a: 1 } }))).toThrow(/not a string/);
  });

  const py = findPython(['safetensors', 'numpy']);
  it.skipIf(!py)(
    'agrees with the maintained Python implementation (safetensors package), both ways (skipped without a Python with safetensors)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'downhill-st-'));
      const ours = join(dir, 'ours.safetensors');
      const theirs = join(dir, 'theirs.safetensors');
      writeFileSync(ours, sample());
      const script = `
import json, sys, numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
out = {}
with safe_open(sys.argv[1], framework="np") as f:
    out["metadata"] = f.metadata()
    for k in f.keys():
        t = f.get_tensor(k)
        out[k] = {"dtype": str(t.dtype), "shape": list(t.shape), "hex": t.astype(t.dtype.newbyteorder("<")).tobytes().hex()}
save_file({"w": np.arange(12, dtype=np.float32).reshape(3, 4) / 7, "v": np.array([1.5, -2.25], dtype=np.float64)}, sys.argv[2], metadata={"who": "python"})
print(json.dumps(out))
`;
      const r = runPython(py as string, ['-c', script, ours, theirs]);
      expect(r.stderr).toBe('');
      const got = JSON.parse(r.stdout);
      expect(got.metadata).toEqual({ format: 'pt', note: 'ü' });
      expect(got['layer0.weight'].dtype).toBe('float32');
      expect(got['layer0.weight'].shape).toEqual([2, 3]);
      expect(got['layer0.weight'].hex).toBe(Buffer.from(a.buffer).toString('hex'));
      expect(got['layer0.bias'].hex).toBe(Buffer.from(b.buffer).toString('hex'));
      const back = decodeSafetensors(readFileSync(theirs));
      expect(back.metadata).toEqual({ who: 'python' });
      expect(back.tensors.get('w')?.shape).toEqual([3, 4]);
      expect(Array.from(back.tensors.get('w')?.data as Float32Array)).toEqual(
        Array.from(Float32Array.from({ length: 12 }, (_, i) => Math.fround(i / 7))),
      );
      expect(Array.from(back.tensors.get('v')?.data as Float64Array)).toEqual([1.5, -2.25]);
    },
  );
  if (!py)
    it.skip('agrees with the Python safetensors package: skipped, no Python with safetensors and numpy', () => {});
});
