/**
 * A small pure-TS dense model with the `FitModel` shape, so the training loop can be tested on
 * its own (and where the real Model is not built). Float64 arithmetic, ReLU/identity layers,
 * softmax cross-entropy or MSE (mean over rows). Written for clarity, not speed.
 */
import type { FloatArray } from '../ts/backend/types.js';
import { ParamStore } from '../ts/params.js';
import { Rng } from '../ts/random.js';
import type { DeviceDataLike, FitModel, ModelSpecLike, StepResult } from '../ts/train/types.js';

class Dev implements DeviceDataLike {
  constructor(
    readonly x: Float64Array,
    readonly y: Float64Array,
    readonly rows: number,
    readonly inputs: number,
    readonly targets: number,
  ) {}
  disposed = false;
  dispose(): void {
    this.disposed = true;
  }
}

export class StubModel implements FitModel {
  readonly inputs: number;
  readonly outputs: number;
  uploads = 0;
  constructor(
    readonly spec: ModelSpecLike,
    readonly params: ParamStore,
  ) {
    this.inputs = spec.inputs;
    this.outputs = spec.layers[spec.layers.length - 1].out;
  }

  static async create(spec: ModelSpecLike, seed = 1, backend: 'js' | 'wasm' | 'native' = 'js'): Promise<StubModel> {
    const rng = new Rng(seed);
    const specs: [string, { shape: number[]; init: (i: number) => number }][] = [];
    let fanIn = spec.inputs;
    spec.layers.forEach((l, i) => {
      const bound = 1 / Math.sqrt(fanIn);
      specs.push([`layer${i}.weight`, { shape: [l.out, fanIn], init: () => (2 * rng.uniform() - 1) * bound }]);
      specs.push([`layer${i}.bias`, { shape: [l.out], init: () => (2 * rng.uniform() - 1) * bound }]);
      fanIn = l.out;
    });
    return new StubModel(spec, await ParamStore.create(specs, { backend }));
  }

  upload(x: ArrayLike<number>, y: ArrayLike<number>): Dev {
    this.uploads++;
    const rows = x.length / this.inputs;
    const targets = this.spec.loss.name === 'softmax_cross_entropy' ? 1 : this.outputs;
    return new Dev(Float64Array.from(x), Float64Array.from(y), rows, this.inputs, targets);
  }

  #forward(x: Float64Array, rows: ArrayLike<number>): Float64Array[] {
    const acts: Float64Array[] = [];
    let inp = new Float64Array(rows.length * this.inputs);
    for (let k = 0; k < rows.length; k++)
      inp.set(x.subarray(rows[k] * this.inputs, (rows[k] + 1) * this.inputs), k * this.inputs);
    acts.push(inp);
    let fanIn = this.inputs;
    this.spec.layers.forEach((l, li) => {
      const w = this.params.tensor(`layer${li}.weight`).data;
      const b = this.params.tensor(`layer${li}.bias`).data;
      const out = new Float64Array(rows.length * l.out);
      for (let r = 0; r < rows.length; r++) {
        for (let o = 0; o < l.out; o++) {
          let s = b[o];
          for (let i = 0; i < fanIn; i++) s += w[o * fanIn + i] * inp[r * fanIn + i];
          out[r * l.out + o] = l.activation === 'relu' ? Math.max(0, s) : s;
        }
      }
      acts.push(out);
      inp = out;
      fanIn = l.out;
    });
    return acts;
  }

  /** Loss (mean over rows), correct count and d loss / d output. */
  #loss(
    out: Float64Array,
    y: Float64Array,
    rows: ArrayLike<number>,
  ): { loss: number; correct: number | null; d: Float64Array } {
    const k = this.outputs;
    const n = rows.length;
    const d = new Float64Array(out.length);
    let loss = 0;
    if (this.spec.loss.name === 'softmax_cross_entropy') {
      let correct = 0;
      for (let r = 0; r < n; r++) {
        const z = out.subarray(r * k, (r + 1) * k);
        const m = Math.max(...z);
        let s = 0;
        for (const v of z) s += Math.exp(v - m);
        const label = y[rows[r]];
        loss += Math.log(s) + m - z[label];
        let arg = 0;
        for (let j = 0; j < k; j++) {
          d[r * k + j] = (Math.exp(z[j] - m) / s - (j === label ? 1 : 0)) / n;
          if (z[j] > z[arg]) arg = j;
        }
        if (arg === label) correct++;
      }
      return { loss: loss / n, correct, d };
    }
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < k; j++) {
        const e = out[r * k + j] - y[rows[r] * k + j];
        loss += e * e;
        d[r * k + j] = (2 * e) / (n * k);
      }
    }
    return { loss: loss / (n * k), correct: null, d };
  }

  trainStep(data: DeviceDataLike, rows: Int32Array | number[]): StepResult {
    const dev = data as Dev;
    const acts = this.#forward(dev.x, rows);
    const { loss, correct, d } = this.#loss(acts[acts.length - 1], dev.y, rows);
    let delta = d;
    for (let li = this.spec.layers.length - 1; li >= 0; li--) {
      const l = this.spec.layers[li];
      const fanIn = li === 0 ? this.inputs : this.spec.layers[li - 1].out;
      const out = acts[li + 1];
      if (l.activation === 'relu') for (let i = 0; i < delta.length; i++) if (out[i] <= 0) delta[i] = 0;
      const inp = acts[li];
      const w = this.params.tensor(`layer${li}.weight`);
      const gw = w.grad;
      const gb = this.params.tensor(`layer${li}.bias`).grad;
      gw.fill(0);
      gb.fill(0);
      const gwAcc = new Float64Array(gw.length);
      const gbAcc = new Float64Array(gb.length);
      const next = new Float64Array(rows.length * fanIn);
      const wd = w.data;
      for (let r = 0; r < rows.length; r++) {
        for (let o = 0; o < l.out; o++) {
          const g = delta[r * l.out + o];
          if (g === 0) continue;
          gbAcc[o] += g;
          for (let i = 0; i < fanIn; i++) {
            gwAcc[o * fanIn + i] += g * inp[r * fanIn + i];
            next[r * fanIn + i] += g * wd[o * fanIn + i];
          }
        }
      }
      gw.set(gwAcc);
      gb.set(gbAcc);
      delta = next;
    }
    return { loss, correct };
  }

  evaluate(data: DeviceDataLike, rows?: Int32Array | number[]): StepResult {
    const dev = data as Dev;
    const idx = rows ?? Array.from({ length: dev.rows }, (_, i) => i);
    const acts = this.#forward(dev.x, idx);
    const { loss, correct } = this.#loss(acts[acts.length - 1], dev.y, idx);
    return { loss, correct };
  }

  predict(x: ArrayLike<number>): FloatArray {
    const n = x.length / this.inputs;
    const acts = this.#forward(
      Float64Array.from(x),
      Array.from({ length: n }, (_, i) => i),
    );
    return Float32Array.from(acts[acts.length - 1]);
  }
}

/** Two Gaussian blobs per class in `features` dimensions, labelled 0 … classes−1. */
export function blobs(rows: number, features: number, classes: number, seed = 1): { x: Float32Array; y: Float32Array } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: features }, () => 2 * rng.normal()));
  const x = new Float32Array(rows * features);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = r % classes;
    y[r] = c;
    for (let f = 0; f < features; f++) x[r * features + f] = centres[c][f] + rng.normal();
  }
  return { x, y };
}
