//! Every optimizer the core knows, by wire id. Adding an optimizer adds one line here.

use crate::optim::{adam, adamw, sgd, KernelSpec};

pub const SPECS: &[KernelSpec] = &[sgd::SPEC, adam::SPEC, adamw::SPEC];

pub const KERNEL_SGD: u32 = sgd::SPEC.id;
pub const KERNEL_ADAM: u32 = adam::SPEC.id;
pub const KERNEL_ADAMW: u32 = adamw::SPEC.id;

/// The spec with this wire id.
pub fn spec(id: u32) -> Option<&'static KernelSpec> {
    SPECS.iter().find(|s| s.id == id)
}
