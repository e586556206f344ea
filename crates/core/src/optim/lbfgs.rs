//! L-BFGS with PyTorch's semantics (`torch.optim.LBFGS`, PyTorch 2.x): the spec only. A step
//! evaluates the objective several times through a closure, at points that depend on what the
//! previous evaluations returned, so it is driven from TypeScript (`ts/optim/lbfgs.ts`) over the
//! core's vector ops (dot products, axpy, norms, copies), with every vector it keeps (the
//! direction, the previous gradient, the history of steps and gradient differences) in the
//! parameter store's heap.
//!
//! One `step(closure)` (outer step), as PyTorch:
//!
//! ```text
//! f, g ← closure();  if max|g| ≤ toleranceGrad: return f
//! repeat at most maxIter times:
//!     first iteration ever: d ← −g, no history, H ← 1
//!     else: y ← g − g_prev, s ← t·d; if y·s > 1e-10: keep (y, s) (at most historySize),
//!           H ← y·s / y·y; d ← −(two-loop recursion over the history, scaled by H)(g)
//!     t ← first iteration ever ? min(1, 1/‖g‖₁)·lr : lr
//!     if g·d > −toleranceChange: stop
//!     lineSearchFn "strong_wolfe": t, f, g ← strong Wolfe search along d (c1 1e-4, c2 0.9)
//!     else x ← x + t·d and f, g ← closure() (not after the call's last iteration)
//!     stop after maxIter iterations, maxEval evaluations, max|g| ≤ toleranceGrad,
//!          max|t·d| ≤ toleranceChange or |f − f_prev| < toleranceChange
//! return the first f
//! ```
//!
//! Options (defaults): `lr` 1, `maxIter` 20, `maxEval` null (= ⌊maxIter·5/4⌋), `toleranceGrad`
//! 1e-7, `toleranceChange` 1e-9, `historySize` 100, `lineSearchFn` "none" (PyTorch's None) or
//! "strong_wolfe", `maximize` false. One param group only.
//!
//! Reference: Liu & Nocedal, "On the limited memory BFGS method for large scale optimization"
//! (Math. Programming 45, 1989); Nocedal & Wright, "Numerical Optimization" (2006), algorithms
//! 7.4 and 3.5–3.6; the line search is Mark Schmidt's minFunc, as PyTorch ports it.

use crate::spec::{Default as Def, Domain, Driver, HParam, Kind, Spec};

pub const SPEC: Spec = Spec {
    id: 20,
    name: "LBFGS",
    summary: "L-BFGS with an optional strong Wolfe line search (torch.optim.LBFGS); step(closure) evaluates the objective as often as it needs.",
    reference: "Liu & Nocedal 1989; Nocedal & Wright 2006; torch.optim.LBFGS (minFunc line search)",
    torch: Some("torch.optim.LBFGS"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::real("lr", Some("lr"), None, Domain::NON_NEG, 1.0, "Step length (the line search's first trial)."),
        HParam {
            name: "maxIter",
            torch: Some("max_iter"),
            optax: None,
            optax_mask: None,
            kind: Kind::Int(Domain::COUNT),
            default: Def::Value(20.0),
            doc: "Most iterations per step() call.",
        },
        HParam {
            name: "maxEval",
            torch: Some("max_eval"),
            optax: None,
            optax_mask: None,
            kind: Kind::Int(Domain::COUNT.or_null()),
            default: Def::Null,
            doc: "Most closure evaluations per step() call (the line search may make one more); null means ⌊maxIter·5/4⌋.",
        },
        HParam::real("toleranceGrad", Some("tolerance_grad"), None, Domain::NON_NEG, 1e-7, "Stop when the largest |gradient| is at most this."),
        HParam::real("toleranceChange", Some("tolerance_change"), None, Domain::NON_NEG, 1e-9, "Stop when the step, the directional derivative or the loss changes by less than this."),
        HParam {
            name: "historySize",
            torch: Some("history_size"),
            optax: None,
            optax_mask: None,
            kind: Kind::Int(Domain::COUNT),
            default: Def::Value(100.0),
            doc: "Number of (step, gradient difference) pairs kept.",
        },
        HParam {
            name: "lineSearchFn",
            torch: Some("line_search_fn"),
            optax: None,
            optax_mask: None,
            kind: Kind::Choice(&["none", "strong_wolfe"]),
            default: Def::Value(0.0),
            doc: "\"strong_wolfe\" for a line search satisfying the strong Wolfe conditions, \"none\" (PyTorch's None) for fixed steps of lr.",
        },
        HParam::MAXIMIZE,
    ],
    state: &[],
    rules: &[],
    driver: Driver::Ts,
};
