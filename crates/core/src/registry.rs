//! The registry's entry type and lookups; the list itself is in `optim/mod.rs`.

use crate::error::Result;
pub use crate::optim::ENTRIES;
use crate::real::{DType, Real};
use crate::spec::{Shape, Spec};
use crate::step::{self, Elementwise, RunFn, Table, Tensorwise};

/// A registered optimizer: its spec and its step, instantiated for f32 and f64.
pub struct Entry {
    pub spec: &'static Spec,
    run32: Option<RunFn<f32>>,
    run64: Option<RunFn<f64>>,
    /// Scratch elements a tensor of this shape needs.
    pub scratch: fn(&Shape) -> usize,
}

fn no_scratch(_: &Shape) -> usize {
    0
}

impl Entry {
    pub const fn elementwise<A: Elementwise>() -> Entry {
        Entry {
            spec: A::SPEC,
            run32: Some(step::run_elementwise::<A, f32>),
            run64: Some(step::run_elementwise::<A, f64>),
            scratch: no_scratch,
        }
    }
    pub const fn tensorwise<A: Tensorwise>() -> Entry {
        Entry {
            spec: A::SPEC,
            run32: Some(step::run_tensorwise::<A, f32>),
            run64: Some(step::run_tensorwise::<A, f64>),
            scratch: A::scratch_len,
        }
    }
    /// A spec whose step runs in TypeScript over core ops (no core step).
    pub const fn ts(spec: &'static Spec) -> Entry {
        Entry {
            spec,
            run32: None,
            run64: None,
            scratch: no_scratch,
        }
    }

    /// Runs a checked table (see [`crate::ops`]).
    pub fn run<T: Real>(
        &self,
        t: &Table<'_>,
        p: &mut [T],
        g: &[T],
        s: &mut [T],
        scratch: &mut [T],
    ) -> Result<()> {
        // The f32/f64 instantiations are picked by the element type; casting the slices is a
        // no-op because `T` is exactly that type.
        match T::DTYPE {
            DType::F32 => (self.run32.expect("Ts specs are rejected by Table::parse"))(
                t,
                bytemuck::cast_slice_mut(p),
                bytemuck::cast_slice(g),
                bytemuck::cast_slice_mut(s),
                bytemuck::cast_slice_mut(scratch),
            ),
            DType::F64 => (self.run64.expect("Ts specs are rejected by Table::parse"))(
                t,
                bytemuck::cast_slice_mut(p),
                bytemuck::cast_slice(g),
                bytemuck::cast_slice_mut(s),
                bytemuck::cast_slice_mut(scratch),
            ),
        }
    }
}

pub fn entry(id: u32) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.spec.id == id)
}

/// The spec with this wire id.
pub fn spec(id: u32) -> Option<&'static Spec> {
    entry(id).map(|e| e.spec)
}

/// Every spec as one JSON array (what the bindings' `specs()` returns).
pub fn specs_json() -> String {
    let all: Vec<String> = ENTRIES.iter().map(|e| e.spec.to_json()).collect();
    format!("[{}]", all.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Driver, Init, Len, When};

    #[test]
    fn ids_and_names_are_unique() {
        for (i, a) in ENTRIES.iter().enumerate() {
            for b in &ENTRIES[i + 1..] {
                assert_ne!(a.spec.id, b.spec.id, "{} and {}", a.spec.name, b.spec.name);
                assert_ne!(a.spec.name, b.spec.name);
            }
        }
    }

    #[test]
    fn specs_refer_only_to_their_own_hyperparameters() {
        for e in ENTRIES {
            let s = e.spec;
            let has = |n: &str| s.hparams.iter().any(|h| h.name == n);
            for slot in s.state {
                match slot.when {
                    When::Flag(n) | When::NonZero(n) => assert!(has(n), "{}: {n}", s.name),
                    _ => {}
                }
                if let Init::Hp(n) = slot.init {
                    assert!(has(n), "{}: {n}", s.name);
                }
                if s.driver == Driver::Elementwise {
                    assert!(
                        matches!(slot.len, Len::N | Len::Scalar),
                        "{}: element-wise slots are N or Scalar",
                        s.name
                    );
                }
            }
            assert!(s.state.len() <= step::MAX_SLOTS);
            if s.driver == Driver::Elementwise {
                assert!(s.state.iter().filter(|x| x.len == Len::N).count() <= 4);
            }
            for r in s.rules {
                assert!(has(r.flag) && has(r.hparam), "{}", s.name);
            }
        }
    }
}
