//! Optax's Muon (`optax.contrib.muon`): Newton–Schulz-orthogonalized momentum for matrices, and a
//! built-in AdamW for every other tensor, with Optax 0.2.8's semantics.
//!
//! Update rule, for a tensor of exactly two dimensions (rows × cols, read as JAX's
//! [fan_in, fan_out]), step t counted from 1:
//!
//! ```text
//! m ← (1 − β)·g + β·m
//! m̂ ← nesterov ? β·m/(1 − β^(t+1)) + (1 − β)·g/(1 − β^t) : m/(1 − β^t)
//! X ← m̂, transposed when rows > cols (r × c, r ≤ c)
//! preconditioning "frobenius": X ← X/(‖X‖_F + eps);  "spectral": X ← X/(σ_max(X) + eps)
//! nsSteps times (a, b, c = nsA, nsB, nsC):
//!     A ← X·Xᵀ;  X ← a·X + (b·A + (c·A)·A)·X
//!     ("aol" / "schatten": the first iteration rescales X and A first, see below)
//! O ← X, transposed back;  adaptive: O ← ⟨m̂, O⟩·O
//! scale ← consistentRms = null ? √max(1, cols/rows) : √max(rows, cols)·consistentRms
//! p ← p − lr·(scale·O + weightDecay·p)
//! ```
//!
//! and for every other tensor Optax's `adamw` with the same `nesterov` flag:
//!
//! ```text
//! m ← (1 − β1)·g + β1·m;  v ← (1 − β2)·g² + β2·v
//! m̂ ← nesterov ? β1·m/(1 − β1^(t+1)) + (1 − β1)·g/(1 − β1^t) : m/(1 − β1^t)
//! p ← p − adamLr·(m̂ / (√(v/(1 − β2^t) + adamEpsRoot) + eps) + adamWeightDecay·p)
//! ```
//!
//! "aol" first iteration: A ← X·Xᵀ, s_i ← 1/√max(Σ_j |A_ij|, 1e-8), X_ij ← X_ij·s_i,
//! A_ij ← A_ij·s_i·s_j; "schatten": s ← 1/√max(‖A‖_F, 1e-8), X ← X·s, A ← A·s²; then the usual
//! X ← a·X + (b·A + (c·A)·A)·X. (Optax passes its default 1e-8 there, not `eps`.)
//!
//! Options (defaults): `lr` 0.02, `nsA`/`nsB`/`nsC` 3.4445/−4.775/2.0315, `nsSteps` 5,
//! `momentum` (Optax `beta`) 0.95, `eps` 1e-8, `weightDecay` 0 (Muon branch only; Optax's
//! `weight_decay_mask` is a param group with 0), `nesterov` true, `adaptive` false,
//! `preconditioning` "frobenius", `adamBeta1` 0.9, `adamBeta2` 0.999, `adamEpsRoot` 0,
//! `adamWeightDecay` 0, `adamLr` null (= `lr`), `consistentRms` null, `muonDimensionNumbers`
//! "matrices" (Optax's None: exactly the 2-D tensors take the Muon branch). State:
//! `momentum_buffer` for matrices, `exp_avg` and `exp_avg_sq` for the others.
//!
//! Arithmetic is in the parameter type throughout, as Optax with x64 does: per-step scalars
//! (1 − β, bias corrections, the scale) are computed in f64 and rounded once. Matrix products
//! and norms sum in f64 (exact products of f32 inputs) in a fixed order and round once; XLA
//! accumulates in the parameter type, which moves f32 results by an ulp or so. σ_max is the
//! square root of the largest eigenvalue of X·Xᵀ, found by cyclic Jacobi rotations in f64.
//!
//! Reference: Jordan et al., "Muon: An optimizer for hidden layers in neural networks" (2024);
//! Liu et al. 2025 (consistent RMS); Bernstein & Newhouse 2024 (adaptive); Boissin et al. 2025
//! (AOL); Grishina et al. 2025 (Schatten). Differences from Optax: `ns_coeffs` must be one
//! (a, b, c) triple (no per-iteration table, no preset names); `mu_dtype` is the parameter type;
//! `muon_weight_dimension_numbers` other than None is not supported.

use crate::optim::muon::{ns_coefficient, wide};
use crate::par;
use crate::pow::powi_exact;
use crate::product;
use crate::real::Real;
use crate::spec::{
    Default as Def, Domain, Driver, HParam, Init, Kind, Len, Shape, Slot, Spec, When,
};
use crate::step::{Tensor, Tensorwise, MAX_SLOTS};

const LR: usize = 0;
const NS_A: usize = 1;
const NS_B: usize = 2;
const NS_C: usize = 3;
const NS_STEPS: usize = 4;
const MOMENTUM: usize = 5;
const EPS: usize = 6;
const WD: usize = 7;
const NESTEROV: usize = 8;
const ADAPTIVE: usize = 9;
const PRECONDITIONING: usize = 10;
const ADAM_B1: usize = 11;
const ADAM_B2: usize = 12;
const ADAM_EPS_ROOT: usize = 13;
const ADAM_WD: usize = 14;
const ADAM_LR: usize = 15;
const CONSISTENT_RMS: usize = 16;

const FROBENIUS: u32 = 0;
const SPECTRAL: u32 = 1;
const AOL: u32 = 2;
const SCHATTEN: u32 = 3;

/// The floor Optax's AOL and Schatten first iterations use (their own default, not `eps`).
const PRECONDITION_FLOOR: f64 = 1e-8;

pub const SPEC: Spec = Spec {
    id: 19,
    name: "OptaxMuon",
    summary: "Optax's Muon (optax.contrib.muon): orthogonalized momentum for matrices, AdamW for every other tensor.",
    reference: "Jordan et al. 2024; optax.contrib.muon (Optax 0.2.8)",
    torch: None,
    optax: Some("optax.contrib.muon"),
    optax_counts: &[
        ("inner_states.muon.inner_state.0.count", 0),
        ("inner_states.adam.inner_state.0.count", 0),
    ],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(0.02),
        ns_coefficient("nsA", None, Some("ns_coeffs.0"), 0),
        ns_coefficient("nsB", None, Some("ns_coeffs.1"), 1),
        ns_coefficient("nsC", None, Some("ns_coeffs.2"), 2),
        HParam {
            name: "nsSteps",
            torch: None,
            optax: Some("ns_steps"),
            optax_mask: None,
            // Bounded as Muon's: each iteration is three matrix products, and an unbounded count
            // (1e30 is an integer in the domain) would make one step run forever.
            kind: Kind::Int(Domain::new(0.0, false, 100.0, true)),
            default: Def::Value(5.0),
            doc: "Newton–Schulz iterations (below 100).",
        },
        HParam::real("momentum", None, Some("beta"), Domain::DECAY, 0.95, "Decay of the matrices' momentum (Optax's beta)."),
        HParam::real("eps", None, Some("eps"), Domain::NON_NEG, 1e-8, "Added to the norm the matrices are divided by, and to Adam's denominator."),
        HParam::real("weightDecay", None, Some("weight_decay"), Domain::NON_NEG, 0.0, "Weight decay of the matrices, added to the update before lr: p ← p − lr·(scale·O + weightDecay·p).")
            .masked_by("weight_decay_mask"),
        HParam::flag("nesterov", None, Some("nesterov"), true, "Nesterov momentum, in both branches."),
        HParam::flag("adaptive", None, Some("adaptive"), false, "Scale the orthogonalized update by ⟨m̂, O⟩ (the dual norm of the momentum)."),
        HParam {
            name: "preconditioning",
            torch: None,
            optax: Some("preconditioning"),
            optax_mask: None,
            kind: Kind::Choice(&["frobenius", "spectral", "aol", "schatten"]),
            default: Def::Value(0.0),
            doc: "Scaling before the iteration: by the Frobenius norm, the spectral norm, or AOL / Schatten-4 rescaling in the first iteration.",
        },
        HParam::real("adamBeta1", None, Some("adam_b1"), Domain::DECAY, 0.9, "Adam branch: decay of the first moment."),
        HParam::real("adamBeta2", None, Some("adam_b2"), Domain::DECAY, 0.999, "Adam branch: decay of the second moment."),
        HParam::real("adamEpsRoot", None, Some("adam_eps_root"), Domain::NON_NEG, 0.0, "Adam branch: added inside the square root."),
        HParam::real("adamWeightDecay", None, Some("adam_weight_decay"), Domain::NON_NEG, 0.0, "Adam branch: decoupled weight decay (AdamW), times adamLr."),
        HParam {
            name: "adamLr",
            torch: None,
            optax: Some("adam_learning_rate"),
            optax_mask: None,
            kind: Kind::Real(Domain::NON_NEG.or_null()),
            default: Def::Null,
            doc: "Adam branch: learning rate; null means lr.",
        },
        HParam {
            name: "consistentRms",
            torch: None,
            optax: Some("consistent_rms"),
            optax_mask: None,
            kind: Kind::Real(Domain::ANY.or_null()),
            default: Def::Null,
            doc: "Scale matrices' updates by √max(rows, cols)·consistentRms (0.2 matches AdamW's RMS); null: √max(1, cols/rows).",
        },
        HParam {
            name: "muonDimensionNumbers",
            torch: None,
            optax: Some("muon_weight_dimension_numbers"),
            optax_mask: None,
            kind: Kind::Choice(&["matrices"]),
            default: Def::Value(0.0),
            doc: "Which tensors take the Muon branch: \"matrices\" (Optax's None), the exactly 2-D tensors, read as [fan_in, fan_out].",
        },
    ],
    state: &[
        Slot {
            key: "momentum_buffer",
            optax: Some("inner_states.muon.inner_state.0.mu"),
            len: Len::N,
            when: When::Matrix,
            init: Init::Zero,
            nonneg: false,
        },
        Slot {
            key: "exp_avg",
            optax: Some("inner_states.adam.inner_state.0.mu"),
            len: Len::N,
            when: When::NotMatrix,
            init: Init::Zero,
            nonneg: false,
        },
        Slot {
            key: "exp_avg_sq",
            optax: Some("inner_states.adam.inner_state.0.nu"),
            len: Len::N,
            when: When::NotMatrix,
            init: Init::Zero,
            nonneg: true,
        },
    ],
    rules: &[],
    driver: Driver::Tensorwise,
};

pub struct OptaxMuon;

/// `a ← X·Xᵀ` for the r × c matrix `x`, each element summed in f64 in k order; `xt` (r·c, free
/// at this point of the iteration) receives Xᵀ so that the product reads rows.
fn gram<T: Real>(x: &[T], xt: &mut [T], r: usize, c: usize, a: &mut [T], parallel: bool) {
    product::transpose(x, xt, r, c);
    product::ordered(x, xt, a, (r, c, r), parallel, &|_, _, s| T::of(s));
}

/// One Newton–Schulz iteration given `a = X·Xᵀ`: `dst ← k0·X + (k1·A + (k2·A)·A)·X`.
#[allow(clippy::too_many_arguments)]
fn ns_iteration<T: Real>(
    k: [T; 3],
    r: usize,
    c: usize,
    src: &[T],
    a: &[T],
    ca: &mut [T],
    b: &mut [T],
    dst: &mut [T],
    parallel: bool,
) {
    for (o, &v) in ca.iter_mut().zip(a) {
        *o = k[2] * v;
    }
    product::ordered(ca, a, b, (r, r, r), parallel, &|i, j, s| {
        k[1] * a[i * r + j] + T::of(s)
    });
    product::ordered(b, src, dst, (r, r, c), parallel, &|i, j, s| {
        k[0] * src[i * c + j] + T::of(s)
    });
}

/// Largest eigenvalue of the symmetric r × r matrix `a` (destroyed), by cyclic Jacobi
/// rotations in f64 until the off-diagonal part is negligible.
fn max_eigenvalue(a: &mut [f64], r: usize) -> f64 {
    for _sweep in 0..64 {
        let mut off = 0.0f64;
        let mut diag = 0.0f64;
        for i in 0..r {
            diag = diag + a[i * r + i] * a[i * r + i];
            for j in i + 1..r {
                off = off + a[i * r + j] * a[i * r + j];
            }
        }
        if off <= 1e-36 * diag || off == 0.0 {
            break;
        }
        for p in 0..r {
            for q in p + 1..r {
                let apq = a[p * r + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * r + q] - a[p * r + p]) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    let s = (theta * theta + 1.0).sqrt();
                    if theta >= 0.0 {
                        1.0 / (theta + s)
                    } else {
                        -1.0 / (-theta + s)
                    }
                };
                let cs = 1.0 / (t * t + 1.0).sqrt();
                let sn = t * cs;
                for k in 0..r {
                    let akp = a[k * r + p];
                    let akq = a[k * r + q];
                    a[k * r + p] = cs * akp - sn * akq;
                    a[k * r + q] = sn * akp + cs * akq;
                }
                for k in 0..r {
                    let apk = a[p * r + k];
                    let aqk = a[q * r + k];
                    a[p * r + k] = cs * apk - sn * aqk;
                    a[q * r + k] = sn * apk + cs * aqk;
                }
            }
        }
    }
    let mut m = 0.0f64;
    for i in 0..r {
        if a[i * r + i] > m {
            m = a[i * r + i];
        }
    }
    m
}

/// Optax's bias-corrected (Nesterov) momentum of one element.
#[derive(Clone, Copy)]
struct Moment<T> {
    b: T,
    omb: T,
    bc: T,
    bc_next: T,
    nesterov: bool,
}

impl<T: Real> Moment<T> {
    fn new(beta: f64, step: u64, nesterov: bool) -> Moment<T> {
        Moment {
            b: T::of(beta),
            omb: T::of(1.0 - beta),
            bc: T::of(1.0 - powi_exact(beta, step)),
            bc_next: T::of(1.0 - powi_exact(beta, step + 1)),
            nesterov,
        }
    }
    /// The new moment from the old one and the gradient.
    #[inline(always)]
    fn update(&self, m: T, g: T) -> T {
        self.omb * g + self.b * m
    }
    /// m̂ from the new moment and the gradient.
    #[inline(always)]
    fn hat(&self, m: T, g: T) -> T {
        if self.nesterov {
            self.b * (m / self.bc_next) + self.omb * (g / self.bc)
        } else {
            m / self.bc
        }
    }
}

impl Tensorwise for OptaxMuon {
    const SPEC: &'static Spec = &SPEC;

    fn scratch_len(shape: &Shape) -> usize {
        if shape.ndim != 2 {
            return 0;
        }
        let (r, c, _) = wide(shape.rows, shape.cols);
        2 * r * c + 3 * r * r
    }

    fn step<T: Real>(
        t: &Tensor<'_>,
        p: &mut [T],
        g: &[T],
        slots: &mut [&mut [T]; MAX_SLOTS],
        scratch: &mut [T],
        parallel: bool,
    ) {
        if t.shape.ndim == 2 {
            muon_branch(t, p, g, &mut *slots[0], scratch, parallel);
        } else {
            let [_, m, v, ..] = slots;
            adam_branch(t, p, g, m, v);
        }
    }
}

fn adam_branch<T: Real>(t: &Tensor<'_>, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    let mo = Moment::<T>::new(t.hp(ADAM_B1), t.step, t.flag(NESTEROV));
    let b2 = t.hp(ADAM_B2);
    let (tb2, omb2) = (T::of(b2), T::of(1.0 - b2));
    let bc2 = T::of(1.0 - powi_exact(b2, t.step));
    let eps_root = T::of(t.hp(ADAM_EPS_ROOT));
    let eps = T::of(t.hp(EPS));
    let wd = T::of(t.hp(ADAM_WD));
    let lr = if t.hp(ADAM_LR).is_nan() {
        t.hp(LR)
    } else {
        t.hp(ADAM_LR)
    };
    let neg_lr = T::of(-lr);
    for i in 0..p.len() {
        let gi = g[i];
        let mi = mo.update(m[i], gi);
        let vi = omb2 * (gi * gi) + tb2 * v[i];
        m[i] = mi;
        v[i] = vi;
        let u = mo.hat(mi, gi) / ((vi / bc2 + eps_root).sqrt() + eps);
        p[i] = p[i] + (u + wd * p[i]) * neg_lr;
    }
}

fn muon_branch<T: Real>(
    t: &Tensor<'_>,
    p: &mut [T],
    g: &[T],
    mu: &mut [T],
    scratch: &mut [T],
    parallel: bool,
) {
    let (rows, cols) = (t.shape.rows, t.shape.cols);
    let (r, c, tr) = wide(rows, cols);
    if r == 0 {
        return;
    }
    let (x, rest) = scratch.split_at_mut(r * c);
    let (y, rest) = rest.split_at_mut(r * c);
    let (a, rest) = rest.split_at_mut(r * r);
    let (ca, rest) = rest.split_at_mut(r * r);
    let b = &mut rest[..r * r];
    let mo = Moment::<T>::new(t.hp(MOMENTUM), t.step, t.flag(NESTEROV));
    let wi = |i: usize, j: usize| if tr { j * c + i } else { i * c + j };
    for i in 0..rows {
        for j in 0..cols {
            let e = i * cols + j;
            let m = mo.update(mu[e], g[e]);
            mu[e] = m;
            x[wi(i, j)] = mo.hat(m, g[e]);
        }
    }
    let eps = T::of(t.hp(EPS));
    let kind = t.hp(PRECONDITIONING) as u32;
    if kind == FROBENIUS || kind == SPECTRAL {
        let norm = if kind == FROBENIUS {
            let sq = par::sum(r * c, parallel, &|rg| [par::lane_sum(&x[rg], |v| v * v)])[0];
            T::of(sq.sqrt())
        } else {
            // The eigenvalue search needs f64 whatever T is, so this r × r block does not come
            // from the (T-typed) scratch; it is the one allocation of a step, and only with
            // "spectral", whose cost is dominated by the rotations anyway.
            let mut a64 = vec![0.0f64; r * r];
            for i in 0..r {
                for j in 0..r {
                    let mut acc = 0.0f64;
                    for k in 0..c {
                        acc = acc + x[i * c + k].f64() * x[j * c + k].f64();
                    }
                    a64[i * r + j] = acc;
                }
            }
            T::of(max_eigenvalue(&mut a64, r).sqrt())
        };
        let den = norm + eps;
        for v in x.iter_mut() {
            *v = *v / den;
        }
    }
    let k = [T::of(t.hp(NS_A)), T::of(t.hp(NS_B)), T::of(t.hp(NS_C))];
    let steps = t.hp(NS_STEPS) as usize;
    let mut flipped = false;
    for s in 0..steps {
        let (src, dst): (&mut [T], &mut [T]) = if flipped {
            (&mut *y, &mut *x)
        } else {
            (&mut *x, &mut *y)
        };
        gram(src, dst, r, c, a, parallel);
        if s == 0 && kind == AOL {
            // s_i = 1/√max(Σ_j |A_ij|, floor); X_ij·s_i; A_ij·s_i·s_j.
            let floor = T::of(PRECONDITION_FLOOR);
            for (i, sv) in ca.iter_mut().take(r).enumerate() {
                let mut acc = 0.0f64;
                for j in 0..r {
                    acc = acc + a[i * r + j].f64().abs();
                }
                let sum = T::of(acc);
                let clipped = if sum < floor { floor } else { sum };
                *sv = T::ONE / clipped.sqrt();
            }
            for i in 0..r {
                for j in 0..c {
                    src[i * c + j] = src[i * c + j] * ca[i];
                }
                for j in 0..r {
                    a[i * r + j] = a[i * r + j] * ca[i] * ca[j];
                }
            }
        } else if s == 0 && kind == SCHATTEN {
            let sq = par::sum(r * r, parallel, &|rg| [par::lane_sum(&a[rg], |v| v * v)])[0];
            let floor = T::of(PRECONDITION_FLOOR);
            let norm = T::of(sq.sqrt());
            let sv = T::ONE / (if norm < floor { floor } else { norm }).sqrt();
            let sv2 = sv * sv;
            for v in src.iter_mut() {
                *v = *v * sv;
            }
            for v in a.iter_mut() {
                *v = *v * sv2;
            }
        }
        ns_iteration(k, r, c, src, a, ca, b, dst, parallel);
        flipped = !flipped;
    }
    let o: &mut [T] = if flipped { y } else { x };
    if t.flag(ADAPTIVE) {
        let mut acc = 0.0f64;
        for i in 0..rows {
            for j in 0..cols {
                let e = i * cols + j;
                acc = acc + mo.hat(mu[e], g[e]).f64() * o[wi(i, j)].f64();
            }
        }
        let s = T::of(acc);
        for v in o.iter_mut() {
            *v = s * *v;
        }
    }
    let (fr, fc) = (rows as f64, cols as f64);
    let scale = if t.hp(CONSISTENT_RMS).is_nan() {
        let q = fc / fr;
        (if q > 1.0 { q } else { 1.0 }).sqrt()
    } else {
        (if fr > fc { fr } else { fc }).sqrt() * t.hp(CONSISTENT_RMS)
    };
    let scale = T::of(scale);
    let wd = T::of(t.hp(WD));
    let neg_lr = T::of(-t.hp(LR));
    for i in 0..rows {
        for j in 0..cols {
            let e = i * cols + j;
            let u = scale * o[wi(i, j)] + wd * p[e];
            p[e] = p[e] + u * neg_lr;
        }
    }
}
