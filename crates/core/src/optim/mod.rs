//! Optimizers, one algorithm per file. Each file holds its [`crate::spec::Spec`] (registered in
//! `registry.rs`), its update rule as pseudo-code with references, and its kernel: an
//! [`crate::step::Elementwise`] plan and element loop, or a [`crate::step::Tensorwise`] step.

pub mod adam;
pub mod adamw;
pub mod sgd;
