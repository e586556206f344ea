/**
 * The `naive-js` baseline of the benchmark: each optimizer step as a user would write it from the
 * paper or PyTorch's pseudo-code, one plain loop over `Float32Array`s with double-precision
 * temporaries (no `Math.fround`, no blocking, no SIMD). Written from the formulas, not from the
 * core: these are what downhill has to beat, not mirrors of it (the bit-exact mirror is the `js`
 * backend). Defaults are the optimizers' defaults.
 */

export type F32 = Float32Array;

/** One step of a textbook optimizer over `p` with gradient `g`; `t` counts steps from 1. */
export type NaiveStep = (p: F32, g: F32, t: number) => void;

/** Stateful textbook steps by benchmark kernel name; state is allocated per call of the factory. */
export const NAIVE: Record<string, (n: number) => NaiveStep> = {
  sgd: () => (p, g) => {
    const lr = 1e-3;
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
  },

  sgd_momentum: (n) => {
    const buf = new Float32Array(n);
    return (p, g) => {
      const lr = 1e-3,
        momentum = 0.9;
      for (let i = 0; i < p.length; i++) {
        buf[i] = momentum * buf[i] + g[i];
        p[i] -= lr * buf[i];
      }
    };
  },

  // Kingma & Ba, Algorithm 1.
  adam: (n) => {
    const m = new Float32Array(n),
      v = new Float32Array(n);
    return (p, g, t) => adamLoop(p, g, m, v, t, 0);
  },

  // Loshchilov & Hutter: decay the weights, then Adam.
  adamw: (n) => {
    const m = new Float32Array(n),
      v = new Float32Array(n);
    return (p, g, t) => adamLoop(p, g, m, v, t, 1e-2);
  },

  adagrad: (n) => {
    const sum = new Float32Array(n);
    return (p, g) => {
      const lr = 1e-2,
        eps = 1e-10;
      for (let i = 0; i < p.length; i++) {
        sum[i] += g[i] * g[i];
        p[i] -= (lr * g[i]) / (Math.sqrt(sum[i]) + eps);
      }
    };
  },

  rmsprop: (n) => {
    const sq = new Float32Array(n);
    return (p, g) => {
      const lr = 1e-2,
        alpha = 0.99,
        eps = 1e-8;
      for (let i = 0; i < p.length; i++) {
        sq[i] = alpha * sq[i] + (1 - alpha) * g[i] * g[i];
        p[i] -= (lr * g[i]) / (Math.sqrt(sq[i]) + eps);
      }
    };
  },

  // Zeiler 2012, Algorithm 1 (with PyTorch's lr).
  adadelta: (n) => {
    const sq = new Float32Array(n),
      acc = new Float32Array(n);
    return (p, g) => {
      const lr = 1,
        rho = 0.9,
        eps = 1e-6;
      for (let i = 0; i < p.length; i++) {
        sq[i] = rho * sq[i] + (1 - rho) * g[i] * g[i];
        const delta = (Math.sqrt(acc[i] + eps) / Math.sqrt(sq[i] + eps)) * g[i];
        acc[i] = rho * acc[i] + (1 - rho) * delta * delta;
        p[i] -= lr * delta;
      }
    };
  },

  // Kingma & Ba, section 7.1.
  adamax: (n) => {
    const m = new Float32Array(n),
      u = new Float32Array(n);
    return (p, g, t) => {
      const lr = 2e-3,
        b1 = 0.9,
        b2 = 0.999,
        eps = 1e-8;
      const clr = lr / (1 - b1 ** t);
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        u[i] = Math.max(b2 * u[i], Math.abs(g[i]) + eps);
        p[i] -= (clr * m[i]) / u[i];
      }
    };
  },

  // Dozat 2016 with PyTorch's momentum schedule (mu_t = β1 (1 − 0.5·0.96^(t·ψ))).
  nadam: (n) => {
    const m = new Float32Array(n),
      v = new Float32Array(n);
    let muProduct = 1;
    return (p, g, t) => {
      const lr = 2e-3,
        b1 = 0.9,
        b2 = 0.999,
        eps = 1e-8,
        psi = 4e-3;
      const mu = b1 * (1 - 0.5 * 0.96 ** (t * psi));
      const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
      muProduct *= mu;
      const bc2 = 1 - b2 ** t;
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const denom = Math.sqrt(v[i] / bc2) + eps;
        p[i] -= (lr * (1 - mu) * g[i]) / (1 - muProduct) / denom;
        p[i] -= (lr * muNext * m[i]) / (1 - muProduct * muNext) / denom;
      }
    };
  },

  // Liu et al. 2020, Algorithm 2.
  radam: (n) => {
    const m = new Float32Array(n),
      v = new Float32Array(n);
    return (p, g, t) => {
      const lr = 1e-3,
        b1 = 0.9,
        b2 = 0.999,
        eps = 1e-8;
      const rhoInf = 2 / (1 - b2) - 1;
      const rho = rhoInf - (2 * t * b2 ** t) / (1 - b2 ** t);
      const bc1 = 1 - b1 ** t,
        bc2 = 1 - b2 ** t;
      const r = rho > 5 ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0;
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mHat = m[i] / bc1;
        if (rho > 5) p[i] -= (lr * mHat * r) / (Math.sqrt(v[i] / bc2) + eps);
        else p[i] -= lr * mHat;
      }
    };
  },

  // Chen et al. 2023, Program 1.
  lion: (n) => {
    const m = new Float32Array(n);
    return (p, g) => {
      const lr = 1e-4,
        b1 = 0.9,
        b2 = 0.99,
        wd = 1e-3;
      for (let i = 0; i < p.length; i++) {
        const c = b1 * m[i] + (1 - b1) * g[i];
        p[i] -= lr * (Math.sign(c) + wd * p[i]);
        m[i] = b2 * m[i] + (1 - b2) * g[i];
      }
    };
  },

  // You et al. 2020, Algorithm 2, one tensor: Adam's direction, then the trust ratio.
  lamb: (n) => {
    const m = new Float32Array(n),
      v = new Float32Array(n),
      u = new Float32Array(n);
    return (p, g, t) => {
      const lr = 1e-3,
        b1 = 0.9,
        b2 = 0.999,
        eps = 1e-6;
      const bc1 = 1 - b1 ** t,
        bc2 = 1 - b2 ** t;
      let pn = 0,
        un = 0;
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        u[i] = m[i] / bc1 / (Math.sqrt(v[i] / bc2) + eps);
        pn += p[i] * p[i];
        un += u[i] * u[i];
      }
      const ratio = pn > 0 && un > 0 ? Math.sqrt(pn) / Math.sqrt(un) : 1;
      for (let i = 0; i < p.length; i++) p[i] -= lr * ratio * u[i];
    };
  },

  // Clip by global L2 norm (PyTorch's clip_grad_norm_): the norm, then the scale, in place on
  // `g`. The bound is far above the norm, as in the core's case, so the gradients keep their
  // values (a real bound would shrink them towards subnormals over thousands of calls) while
  // both loops still run in full.
  clip_norm: () => (_p, g) => {
    const maxNorm = 1e30;
    let sq = 0;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    const k = Math.min(1, maxNorm / (Math.sqrt(sq) + 1e-6));
    for (let i = 0; i < g.length; i++) g[i] *= k;
  },

  // One EMA update of an average of the parameters.
  ema: (n) => {
    const avg = new Float32Array(n);
    return (p) => {
      const decay = 0.999;
      for (let i = 0; i < p.length; i++) avg[i] = decay * avg[i] + (1 - decay) * p[i];
    };
  },
};

function adamLoop(p: F32, g: F32, m: F32, v: F32, t: number, wd: number): void {
  const lr = 1e-3,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8;
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  for (let i = 0; i < p.length; i++) {
    if (wd !== 0) p[i] -= lr * wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const mHat = m[i] / bc1;
    const vHat = v[i] / bc2;
    p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}
