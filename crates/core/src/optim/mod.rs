//! Optimizers, one algorithm per file, and the list of them: the registry.
//!
//! Each file holds its [`crate::spec::Spec`], its update rule as pseudo-code with references,
//! and its kernel: an [`crate::step::Elementwise`] plan and element loop, or a
//! [`crate::step::Tensorwise`] step. Adding an optimizer adds its file and ONE line below, which
//! declares the module and registers its kernel (or, for `ts`, only its spec: a driver written
//! in TypeScript over core ops).

use crate::registry::Entry;

/// `module::Type => kind` per optimizer: declares `pub mod module;` and lists its entry.
macro_rules! registry {
    ($($module:ident :: $ty:ident => $kind:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every registered optimizer, in wire-id order.
        pub static ENTRIES: &[Entry] = &[$(registry!(@entry $module :: $ty => $kind)),*];
    };
    (@entry $module:ident :: $ty:ident => elementwise) => { Entry::elementwise::<$module::$ty>() };
    (@entry $module:ident :: $ty:ident => tensorwise) => { Entry::tensorwise::<$module::$ty>() };
    (@entry $module:ident :: $ty:ident => ts) => { Entry::ts(&$module::$ty) };
}

registry! {
    sgd::Sgd => elementwise,
    adam::Adam => elementwise,
    adamw::AdamW => elementwise,
    adagrad::Adagrad => elementwise,
    rmsprop::RMSprop => elementwise,
    adadelta::Adadelta => elementwise,
    adamax::Adamax => elementwise,
    nadam::NAdam => elementwise,
    radam::RAdam => elementwise,
    adafactor::Adafactor => tensorwise,
    muon::Muon => tensorwise,
    optax_muon::OptaxMuon => tensorwise,
    lbfgs::SPEC => ts,
    lamb::Lamb => tensorwise,
    lars::Lars => tensorwise,
    adabelief::AdaBelief => elementwise,
    yogi::Yogi => elementwise,
    schedule_free_adamw::ScheduleFreeAdamW => elementwise,
    schedule_free_sgd::ScheduleFreeSgd => elementwise,
    lookahead::SPEC => ts,
    adabound::AdaBound => elementwise,
    lion::Lion => elementwise,
}
