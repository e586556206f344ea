/**
 * The safetensors format (https://github.com/huggingface/safetensors, "Format"), written to its
 * spec:
 *
 * ```
 * [8 bytes]  N, unsigned 64-bit little-endian: the header's length in bytes
 * [N bytes]  a UTF-8 JSON object: { "__metadata__": { string: string },
 *                                   "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 *            padded with spaces (0x20) so the data starts at a multiple of 8
 * [rest]     the tensors' bytes, little-endian, row-major; offsets are relative to the start of
 *            this part, and the tensors cover it without gaps or overlaps
 * ```
 *
 * Reading checks what the reference implementation checks: the header length fits the file, the
 * header is a JSON object (starting with `{`), every entry has a known dtype, a shape of
 * non-negative integers and offsets whose length is `numel × element size`, and the offsets tile
 * the data part exactly.
 */
import { typeError } from '../errors.js';
import { CheckpointError } from './errors.js';

/** The element types of the safetensors format (its `dtype` strings). */
export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const SIZES: Record<SafeDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor: float data are decoded into typed arrays; other dtypes stay raw bytes. */
export interface SafeTensor {
  /** Its element type in the file. */
  dtype: SafeDType;
  /** Its dimensions. */
  shape: number[];
  /** F32/F64 decoded; the other types as raw little-endian bytes. */
  data: Float32Array | Float64Array | Uint8Array;
}

/** The reference implementation rejects headers above 100 MB. */
const MAX_HEADER = 100_000_000;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function leBytes(a: Float32Array | Float64Array | Uint8Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (littleEndian || a instanceof Uint8Array) return bytes;
  const copy = bytes.slice();
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < copy.length; i += w) copy.subarray(i, i + w).reverse();
  return copy;
}

/**
 * Serialises tensors (in the given order) and string metadata into safetensors bytes. Float32Array
 * data is F32 and Float64Array is F64 unless `dtype` says otherwise.
 */
export function encodeSafetensors(
  tensors: Record<
    string,
    { shape: readonly number[]; data: Float32Array | Float64Array | Uint8Array; dtype?: SafeDType }
  >,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw typeError(`metadata.${k}`, 'safetensors metadata values must be strings');
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw typeError('tensors', '"__metadata__" is reserved');
    const dtype: SafeDType =
      t.dtype ?? (t.data instanceof Float64Array ? 'F64' : t.data instanceof Float32Array ? 'F32' : 'U8');
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const bytes = leBytes(t.data);
    if (bytes.byteLength !== numel * SIZES[dtype]) {
      throw typeError(
        `tensors.${name}`,
        `holds ${bytes.byteLength} bytes, shape [${t.shape.join(', ')}] of ${dtype} needs ${numel * SIZES[dtype]}`,
      );
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad so that the data part starts 8-byte aligned (8 + N ≡ 0 mod 8).
  let hb = new TextEncoder().encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    hb = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; `file` names the source in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  file = 'safetensors',
): {
  /** The tensors by name, in the file's order. */
  tensors: Map<string, SafeTensor>;
  /** The header's `__metadata__` strings. */
  metadata: Record<string, string>;
} {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`, file);
  };
  if (bytes.byteLength < 8) fail(`is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} is above the 100 MB limit`);
  const n = Number(n64);
  if (8 + n > bytes.byteLength) fail(`header length ${n} runs past the end of the file (${bytes.byteLength} bytes)`);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  if (!text.startsWith('{')) fail('header does not start with "{"');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafeTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as object)) {
        if (typeof s !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(`tensor ${JSON.stringify(name)} is not an object`);
    const dtype = e.dtype as SafeDType;
    if (typeof dtype !== 'string' || !(dtype in SIZES))
      fail(`tensor ${JSON.stringify(name)} has unknown dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${JSON.stringify(name)} has a bad shape ${JSON.stringify(shape)}`);
    }
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      off[1] < off[0]
    ) {
      fail(`tensor ${JSON.stringify(name)} has bad data_offsets ${JSON.stringify(off)}`);
    }
    const [b, end] = off as [number, number];
    const numel = (shape as number[]).reduce((a, c) => a * c, 1);
    if (end - b !== numel * SIZES[dtype]) {
      fail(
        `tensor ${JSON.stringify(name)}: data_offsets span ${end - b} bytes, shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${numel * SIZES[dtype]}`,
      );
    }
    if (end > data.byteLength)
      fail(`tensor ${JSON.stringify(name)} ends at byte ${end}, past the ${data.byteLength} data bytes`);
    spans.push([b, end, name]);
    // A copy in a fresh ArrayBuffer (a Node Buffer's slice() is a view into a shared pool).
    const raw = new Uint8Array(data.subarray(b, end));
    let arr: SafeTensor['data'];
    if (dtype === 'F32' || dtype === 'F64') {
      const w = SIZES[dtype];
      if (!littleEndian) for (let i = 0; i < raw.length; i += w) raw.subarray(i, i + w).reverse();
      arr = dtype === 'F32' ? new Float32Array(raw.buffer, 0, numel) : new Float64Array(raw.buffer, 0, numel);
    } else arr = raw;
    tensors.set(name, { dtype, shape: shape as number[], data: arr });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [b, end, name] of spans) {
    if (b !== at)
      fail(`tensor ${JSON.stringify(name)} starts at byte ${b}; the data must be contiguous (expected ${at})`);
    at = end;
  }
  if (at !== data.byteLength) fail(`the tensors cover ${at} of the ${data.byteLength} data bytes`);
  return { tensors, metadata };
}
