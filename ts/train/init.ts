/**
 * Weight initialisation for dense layers, from a seeded generator that gives the same numbers on
 * every machine and JavaScript engine: initialisation runs here, in TypeScript, and the parameter
 * store then holds the same values on every backend.
 *
 * The generator is xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", 2021), 32-bit integer operations only (`Math.imul`), its state filled from the
 * seed by SplitMix32 (MurmurHash3's finaliser over a Weyl sequence). Uniforms take 53 bits from
 * two outputs. Normals use Marsaglia's polar method with the portable `ln` of
 * `ts/kernels/mathx.ts` (not `Math.log`, whose last bit may differ between engines) and
 * `Math.sqrt` (correctly rounded everywhere).
 *
 * | name | weight `[out, in]` | reference |
 * |---|---|---|
 * | `xavier_uniform` | U(±√(6/(in+out))) | Glorot & Bengio 2010; `torch.nn.init.xavier_uniform_` (gain 1) |
 * | `xavier_normal` | N(0, 2/(in+out)) | `xavier_normal_` |
 * | `he_uniform` | U(±√(6/in)) | He et al. 2015; `kaiming_uniform_` (PyTorch's defaults: a = 0, fan_in) |
 * | `he_normal` | N(0, 2/in) | `kaiming_normal_` |
 * | `lecun_uniform` | U(±√(3/in)) | LeCun et al. 1998, "Efficient BackProp" |
 * | `lecun_normal` | N(0, 1/in) | same (untruncated; JAX and Keras truncate at 2σ) |
 * | `torch_default` | U(±1/√in), bias U(±1/√in) | `nn.Linear.reset_parameters`: `kaiming_uniform_(a=√5)` |
 *
 * Biases start at zero except under `torch_default`. Values are drawn layer by layer, the weight
 * in row-major order, then the bias.
 */
import { rangeError, typeError } from '../errors.js';
import { ln } from '../kernels/mathx.js';
import { describeType } from '../validate.js';

/** The weight initialisations (`torch_default` is `nn.Linear`'s: Kaiming-uniform with a = √5). */
export type InitName =
  'xavier_uniform' | 'xavier_normal' | 'he_uniform' | 'he_normal' | 'lecun_uniform' | 'lecun_normal' | 'torch_default';

/** Every `InitName`. */
export const INIT_NAMES: readonly InitName[] = [
  'xavier_uniform',
  'xavier_normal',
  'he_uniform',
  'he_normal',
  'lecun_uniform',
  'lecun_normal',
  'torch_default',
];

/** xoshiro128** seeded by SplitMix32: the same sequence on every engine. */
export class InitRng {
  #s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** The next 32-bit output. */
  next32(): number {
    const s = this.#s;
    const m = Math.imul(s[1], 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.next32() >>> 5;
    const b = this.next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal (Marsaglia's polar method). */
  normal(): number {
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) return u * Math.sqrt((-2 * ln(s)) / s);
    }
  }
}

/**
 * Fills `weight` (`out × inp`, row-major) and `bias` (`out`) by `name`, drawing from `rng`. Every
 * argument is checked (a `TypeError` or `RangeError` naming it) before anything is written.
 */
export function initDense(
  name: InitName,
  rng: InitRng,
  inp: number,
  out: number,
  weight: Float64Array,
  bias: Float64Array,
): void {
  if (!INIT_NAMES.includes(name)) {
    throw rangeError('name', `must be one of ${INIT_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  }
  if (!(rng instanceof InitRng)) throw typeError('rng', `must be an InitRng, got ${describeType(rng)}`);
  for (const [arg, v] of [
    ['inp', inp],
    ['out', out],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw rangeError(arg, `must be a positive integer, got ${String(v)}`);
  }
  for (const [arg, a, n] of [
    ['weight', weight, inp * out],
    ['bias', bias, out],
  ] as const) {
    if (!(a instanceof Float64Array)) throw typeError(arg, `must be a Float64Array, got ${describeType(a)}`);
    if (a.length !== n) throw rangeError(arg, `must hold ${n} elements, got ${a.length}`);
  }
  const uniform = (bound: number, a: Float64Array) => {
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
  };
  const normal = (std: number, a: Float64Array) => {
    for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
  };
  bias.fill(0);
  switch (name) {
    case 'xavier_uniform':
      return uniform(Math.sqrt(6 / (inp + out)), weight);
    case 'xavier_normal':
      return normal(Math.sqrt(2 / (inp + out)), weight);
    case 'he_uniform':
      return uniform(Math.sqrt(6 / inp), weight);
    case 'he_normal':
      return normal(Math.sqrt(2 / inp), weight);
    case 'lecun_uniform':
      return uniform(Math.sqrt(3 / inp), weight);
    case 'lecun_normal':
      return normal(Math.sqrt(1 / inp), weight);
    case 'torch_default': {
      // kaiming_uniform_(a = √5): gain √(2/(1 + 5)), bound gain·√(3/in) = 1/√in.
      const bound = 1 / Math.sqrt(inp);
      uniform(bound, weight);
      return uniform(bound, bias);
    }
  }
}
