/**
 * Runs a gradient case (`"kind": "gradient"`, shared/gradients/README.md) on a backend: builds the
 * case's dense model as a {@link Model} in the case's dtype, loads the recorded parameters, and
 * compares the loss, every parameter gradient and the gradient with respect to the input with
 * PyTorch's, within the README's tolerances (float64: |Δ| <= 1e-12 + 1e-10·|want|; float32:
 * relative 1e-4, with 1e-6 absolute near zero).
 */
import type { Backend } from '../backend/types.js';
import { Model, type Activation, type LossName } from '../train/model.js';
import { Meter, registerRunner, type Case, type Runner } from './index.js';

interface Tensor {
  shape?: number[];
  value: number[];
}

interface GradientCase extends Case {
  dtype?: string;
  layers: { in: number; out: number; activation?: string }[];
  loss: { name: string; reduction?: string; delta?: number };
  params: { name: string; shape: number[]; value: number[] }[];
  x: Tensor;
  y: Tensor;
  loss_value: number;
  grads: number[][];
  grad_x?: number[];
}

class Malformed extends Error {}

function values(t: unknown, what: string): number[] {
  const v = Array.isArray(t) ? t : (t as Tensor | null)?.value;
  if (!Array.isArray(v) || v.some((n) => typeof n !== 'number')) throw new Malformed(`${what} has no array of numbers`);
  return v as number[];
}

export const runGradientCase: Runner = (raw: Case, backend: Backend) => {
  const c = raw as GradientCase;
  if (!Array.isArray(c.layers) || c.layers.length === 0) throw new Malformed('case has no "layers"');
  if (!c.loss || typeof c.loss.name !== 'string') throw new Malformed('case has no "loss" with a name');
  if (!Array.isArray(c.params) || c.params.length !== 2 * c.layers.length) {
    throw new Malformed(`case must list ${2 * c.layers.length} params (a weight and a bias per layer)`);
  }
  if (!Array.isArray(c.grads) || c.grads.length !== c.params.length) {
    throw new Malformed('case must list one gradient per param');
  }
  c.layers.forEach((l, i) => {
    if (i > 0 && l.in !== c.layers[i - 1].out) {
      throw new Malformed(`layers[${i}].in = ${l.in} does not follow layers[${i - 1}].out = ${c.layers[i - 1].out}`);
    }
  });
  const dtype = c.dtype === 'float32' ? 'float32' : 'float64';
  const model = new Model(
    backend,
    {
      inputs: c.layers[0].in,
      layers: c.layers.map((l) => ({ out: l.out, activation: (l.activation ?? 'identity') as Activation })),
      loss: {
        name: c.loss.name as LossName,
        reduction: (c.loss.reduction ?? 'mean') as 'mean' | 'sum',
        ...(c.loss.delta === undefined ? {} : { delta: c.loss.delta }),
      },
    },
    { dtype },
  );
  try {
    // The case lists weight, bias per layer in order: our names layer{i}.weight, layer{i}.bias.
    const names = model.params.names;
    c.params.forEach((p, k) => model.params.set(names[k], values(p, `params[${k}]`)));
    const got = model.gradients(values(c.x, 'x'), values(c.y, 'y'));
    const m = dtype === 'float64' ? new Meter(1e-10, 1e-12) : new Meter(1e-4, 1e-6);
    m.compare([got.loss], [c.loss_value], 'loss');
    names.forEach((n, k) => m.compare(got.grads[n], values(c.grads[k], `grads[${k}]`), `grads[${k}] (${n})`));
    if (c.grad_x !== undefined) m.compare(got.gradX, values(c.grad_x, 'grad_x'), 'grad_x');
    return m.result();
  } finally {
    model.dispose();
  }
};

registerRunner('gradient', runGradientCase);
