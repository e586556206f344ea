//! AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
//! Regularization", ICLR 2019).
//!
//! ```text
//! p ← p · (1 − lr · weight_decay)      then the Adam update of `adam.rs` without the L2 term
//! ```
//!
//! Options as Adam's, but `weight_decay` defaults to 1e-2 (PyTorch's default; the TS layer fills
//! defaults). With `weight_decay = 0` it is exactly Adam, bit for bit. The element loop is
//! Adam's; only the plan differs.

use super::adam::plan_with;
use super::{KernelSpec, Plan};
use crate::error::Result;
use crate::segment::Segment;

pub const SPEC: KernelSpec = KernelSpec {
    id: 2,
    name: "AdamW",
    state: &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    plan,
};

fn plan(seg: &Segment, i: usize) -> Result<Plan> {
    plan_with(seg, i, true)
}
