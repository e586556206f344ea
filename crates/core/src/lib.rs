//! downhill-core: gradient-descent optimizers and their building blocks over flat arenas of
//! `f32` or `f64`.
//!
//! A model's parameters live in one flat arena (tensors are ranges of it, with shapes);
//! gradients share its layout, and an optimizer's state is one more buffer laid out by its
//! [`spec::Spec`]. Everything a binding can ask for goes through [`ops::call`]: an optimizer step
//! over any number of tensors and param groups ([`step`]), vector ops (dot, axpy, norms, clipping,
//! averaging), and more. This crate knows nothing of JavaScript: `crates/napi` and `crates/wasm`
//! only marshal into `ops::call`.

// `x = x + y` is kept over `x += y` in the kernels: the update rules read as written in the docs,
// and the TS mirror spells every operation the same way.
#![allow(clippy::assign_op_pattern)]

pub mod error;
pub mod mathx;
pub mod model;
pub mod ops;
pub mod optim;
pub mod par;
pub mod pow;
pub mod product;
pub mod real;
pub mod registry;
pub mod simd;
pub mod spec;
pub mod step;

pub use error::{Error, ErrorKind, Result};
pub use ops::call;
pub use real::{DType, Real};
pub use registry::{spec, specs_json, ENTRIES};
pub use spec::Spec;

/// Number of threads a parallel call may use.
pub fn threads() -> usize {
    par::threads()
}
