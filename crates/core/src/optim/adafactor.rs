//! Adafactor: second moments factored into row and column statistics, update clipping and a
//! relative step size, with PyTorch's semantics (`torch.optim.Adafactor`, PyTorch 2.5+).
//!
//! Update rule (per tensor, step t counted from 1; ε1 = `eps1` or the element type's machine
//! epsilon when it is none):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! ρ ← min(lr, 1/√t);  α ← max(eps2, RMS(p)) · ρ        (RMS(p) = ‖p‖/√numel, before decay)
//! w ← t^beta2Decay                                     (1 − β̂2; 1 at t = 1)
//! p ← p · (1 − lr · weightDecay)
//! dim ≥ 2, over the last two dimensions [.., m, n]:
//!     R ← R + w · (mean_j g² − R)        (row_var, one per row)
//!     C ← C + w · (mean_i g² − C)        (col_var, one per column)
//!     V ← R ⊗ C / max(mean_i R, ε1)
//! dim < 2:
//!     v ← v + w · (g² − v)               (variance);  V ← v
//! U ← g / √max(V, ε1²)
//! p ← p − α / max(1, RMS(U) / d) · U
//! ```
//!
//! Options (defaults): `lr` 1e-2, `beta2Decay` −0.8, `eps1` none (machine epsilon), `eps2` 1e-3,
//! `d` 1 (≥ 1, as PyTorch requires), `weightDecay` 0, `maximize` false. State: `row_var` and
//! `col_var` (batch·m and batch·n numbers) for tensors of two or more dimensions, `variance` (one
//! per element) for the others: the memory saving over Adam is what the factoring buys.
//!
//! The running averages are PyTorch's `lerp` (`a + w·(b − a)`, or `b − (b − a)·(1 − w)` when
//! w ≥ 0.5, which is the form taken at t = 1). Row and column statistics are taken as PyTorch
//! takes them: the L2 norm of the row (or column), rounded to the element type, squared and
//! divided by the count; norms are f64 sums in a fixed order (rows through [`crate::par`],
//! columns in row order), then rounded. `t^beta2Decay` is [`crate::mathx::pow`], `1/√t` a
//! square root: both the same bits on every backend.
//!
//! Reference: Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"
//! (ICML 2018). Differences from the paper, as in PyTorch: ε1 is applied to V and to the row
//! mean rather than added to g²; statistics are means, not sums; no first moment. Differences
//! from PyTorch: none in the algorithm; reductions are summed in f64 (PyTorch sums float32 norms
//! in float32), which moves results by an ulp at most.

use crate::mathx;
use crate::par;
use crate::real::Real;
use crate::spec::{
    Default as Def, Domain, Driver, HParam, Init, Kind, Len, Shape, Slot, Spec, When,
};
use crate::step::{Tensor, Tensorwise, MAX_SLOTS};

const LR: usize = 0;
const BETA2_DECAY: usize = 1;
const EPS1: usize = 2;
const EPS2: usize = 3;
const D: usize = 4;
const WD: usize = 5;
const MAXIMIZE: usize = 6;

pub const SPEC: Spec = Spec {
    id: 17,
    name: "Adafactor",
    summary: "Adafactor: factored second moments (row and column statistics), update clipping and a relative step size.",
    reference: "Shazeer & Stern, ICML 2018; torch.optim.Adafactor (PyTorch 2.5+)",
    torch: Some("torch.optim.Adafactor"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-2),
        HParam::real(
            "beta2Decay",
            Some("beta2_decay"),
            None,
            Domain::new(f64::NEG_INFINITY, false, 0.0, false),
            -0.8,
            "Decay of the second-moment averaging: its weight at step t is t^beta2Decay (<= 0).",
        ),
        HParam {
            name: "eps1",
            torch: Some("eps.0"),
            optax: None,
            optax_mask: None,
            kind: Kind::Real(Domain::NON_NEG.or_null()),
            default: Def::Null,
            doc: "Floor of the second-moment estimate's square root and of the row mean; null means the element type's machine epsilon (torch.finfo(dtype).eps).",
        },
        HParam::real(
            "eps2",
            Some("eps.1"),
            None,
            Domain::NON_NEG,
            1e-3,
            "Floor of the parameter RMS in the relative step size.",
        ),
        HParam::real(
            "d",
            Some("d"),
            None,
            Domain::new(1.0, false, f64::INFINITY, false),
            1.0,
            "Update clipping threshold: U is divided by max(1, RMS(U)/d).",
        ),
        HParam::weight_decay(0.0, "Decoupled weight decay: p ← p·(1 − lr·weightDecay) before the update."),
        HParam::MAXIMIZE,
    ],
    state: &[
        Slot {
            key: "row_var",
            optax: None,
            len: Len::Rows,
            when: When::Factored,
            init: Init::Zero,
            nonneg: true,
        },
        Slot {
            key: "col_var",
            optax: None,
            len: Len::Cols,
            when: When::Factored,
            init: Init::Zero,
            nonneg: true,
        },
        Slot {
            key: "variance",
            optax: None,
            len: Len::N,
            when: When::NotFactored,
            init: Init::Zero,
            nonneg: true,
        },
    ],
    rules: &[],
    driver: Driver::Tensorwise,
};

pub struct Adafactor;

/// PyTorch's `lerp(a, b, w)` in the element type (both of its branches).
#[inline(always)]
pub(crate) fn lerp<T: Real>(a: T, b: T, w: T) -> T {
    if w.abs() < T::of(0.5) {
        a + w * (b - a)
    } else {
        b - (b - a) * (T::ONE - w)
    }
}

/// `Σ x²` in f64, in the fixed blocked order of [`crate::par`].
pub(crate) fn sum_sq<T: Real>(x: &[T], parallel: bool) -> f64 {
    par::sum(x.len(), parallel, &|r| [par::lane_sum(&x[r], |v| v * v)])[0]
}

/// Columns whose sums are accumulated together in one pass over the rows.
const COL_CHUNK: usize = 32;

impl Tensorwise for Adafactor {
    const SPEC: &'static Spec = &SPEC;

    fn scratch_len(shape: &Shape) -> usize {
        shape.numel
    }

    fn step<T: Real>(
        t: &Tensor<'_>,
        p: &mut [T],
        g: &[T],
        slots: &mut [&mut [T]; MAX_SLOTS],
        scratch: &mut [T],
        parallel: bool,
    ) {
        let n = p.len();
        if n == 0 {
            return;
        }
        let lr = t.hp(LR);
        let eps1 = if t.hp(EPS1).is_nan() {
            T::EPSILON
        } else {
            t.hp(EPS1)
        };
        let sign = if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE };
        let step = t.step as f64;
        let w = T::of(mathx::pow(step, t.hp(BETA2_DECAY)));
        let inv_sqrt_t = 1.0 / step.sqrt();
        let rho = if inv_sqrt_t < lr { inv_sqrt_t } else { lr };
        // PyTorch takes ‖p‖ in the element type, then divides in double.
        let p_norm = T::of(sum_sq(p, parallel).sqrt()).f64();
        let rms = p_norm / (n as f64).sqrt();
        let eps2 = t.hp(EPS2);
        let alpha = (if rms > eps2 { rms } else { eps2 }) * rho;
        let wd = t.hp(WD);
        if wd != 0.0 {
            let decay = T::of(1.0 - lr * wd);
            for x in p.iter_mut() {
                *x = *x * decay;
            }
        }
        let floor = T::of(eps1 * eps1);
        let u = &mut scratch[..n];
        let [row_var, col_var, variance, ..] = slots;
        if t.shape.factored() {
            let (m, k) = (t.shape.rows, t.shape.cols);
            let (tm, tk) = (T::of(m as f64), T::of(k as f64));
            let eps1_t = T::of(eps1);
            for b in 0..t.shape.batch {
                let gb = &g[b * m * k..(b + 1) * m * k];
                let rv = &mut row_var[b * m..(b + 1) * m];
                let cv = &mut col_var[b * k..(b + 1) * k];
                for (i, r) in rv.iter_mut().enumerate() {
                    let norm = T::of(sum_sq(&gb[i * k..(i + 1) * k], false).sqrt());
                    *r = lerp(*r, norm * norm / tk, w);
                }
                let mut j0 = 0;
                while j0 < k {
                    let j1 = (j0 + COL_CHUNK).min(k);
                    let mut acc = [0.0f64; COL_CHUNK];
                    for i in 0..m {
                        for (a, &x) in acc.iter_mut().zip(&gb[i * k + j0..i * k + j1]) {
                            let x = x.f64();
                            *a = *a + x * x;
                        }
                    }
                    for (c, &a) in cv[j0..j1].iter_mut().zip(&acc) {
                        let norm = T::of(a.sqrt());
                        *c = lerp(*c, norm * norm / tm, w);
                    }
                    j0 = j1;
                }
                let mut sum = 0.0f64;
                for &r in rv.iter() {
                    sum = sum + r.f64();
                }
                let mean = T::of(sum) / tm;
                let denom = if mean < eps1_t { eps1_t } else { mean };
                let ub = &mut u[b * m * k..(b + 1) * m * k];
                for i in 0..m {
                    let ri = rv[i];
                    for j in 0..k {
                        let v = ri * cv[j] / denom;
                        let v = if v < floor { floor } else { v };
                        ub[i * k + j] = T::ONE / v.sqrt() * (gb[i * k + j] * sign);
                    }
                }
            }
        } else {
            for ((ui, v), &gi) in u.iter_mut().zip(variance.iter_mut()).zip(g) {
                let gi = gi * sign;
                *v = lerp(*v, gi * gi, w);
                let x = if *v < floor { floor } else { *v };
                *ui = T::ONE / x.sqrt() * gi;
            }
        }
        let u_norm = T::of(sum_sq(u, parallel).sqrt()).f64();
        let ratio = u_norm / ((n as f64).sqrt() * t.hp(D));
        let denom = if ratio > 1.0 { ratio } else { 1.0 };
        let step_size = T::of(-alpha / denom);
        for (x, &ui) in p.iter_mut().zip(u.iter()) {
            *x = *x + step_size * ui;
        }
    }
}
