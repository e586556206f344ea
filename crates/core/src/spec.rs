//! Declarative optimizer specs: the one description of each optimizer.
//!
//! A [`Spec`] says everything the rest of the project needs to know about an optimizer without
//! reading its code: its hyperparameters (domain, default, PyTorch and Optax names), its state
//! slots (key, length rule, when it exists, how it starts), and cross-field rules. The core
//! checks step tables against it; `downhill-specgen` renders it as TypeScript
//! (`ts/generated/specs.ts`), from which the TS layer derives validation, defaults, state-dict
//! keys and the conformance mapping; the bindings export it as JSON so tests can prove the three
//! descriptions agree.

use crate::error::{Error, Result};
use crate::real::Real;

/// An optimizer, described.
#[derive(Debug)]
pub struct Spec {
    /// Wire id (stable; [`crate::registry`] lists them).
    pub id: u32,
    /// Public class name (`Adam`).
    pub name: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Paper or library the semantics follow.
    pub reference: &'static str,
    /// `torch.optim` class this reproduces, if any.
    pub torch: Option<&'static str>,
    /// Optax function this reproduces, if any.
    pub optax: Option<&'static str>,
    /// Paths of step counters in Optax's state and how they relate to our step count t:
    /// `("0.count", 0)` holds t, `("step_count", 1)` holds t + 1.
    pub optax_counts: &'static [(&'static str, i64)],
    /// Keys PyTorch writes in this optimizer's param groups that no option holds because their
    /// value is fixed, with that value: since PyTorch 2.x, AdamW's groups carry
    /// `decoupled_weight_decay: true` (AdamW is Adam with it on). A state dict or case naming the
    /// key with that value is this optimizer's; with another value it is an error.
    pub torch_fixed: &'static [(&'static str, bool)],
    pub hparams: &'static [HParam],
    pub state: &'static [Slot],
    pub rules: &'static [Rule],
    /// How a step runs (see [`Driver`]).
    pub driver: Driver,
}

/// Who runs a step of this optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The core, element by element: adjacent tensors with equal per-step scalars are merged
    /// into one loop, and long loops split across threads.
    Elementwise,
    /// The core, tensor by tensor (reductions, factored moments, matrix steps).
    Tensorwise,
    /// TypeScript over the core's generic ops (L-BFGS, Lookahead); the step op rejects it.
    Ts,
}

#[derive(Debug)]
pub struct HParam {
    /// Option name in TypeScript (camelCase).
    pub name: &'static str,
    /// Where PyTorch keeps it in a param group: a key, or `key.i` for an element of a tuple.
    pub torch: Option<&'static str>,
    /// Optax argument name.
    pub optax: Option<&'static str>,
    /// Optax's per-tensor mask argument that turns this option off (`0`/`false`) where false
    /// (`weight_decay_mask`); downhill expresses it with param groups.
    pub optax_mask: Option<&'static str>,
    pub kind: Kind,
    pub default: Default,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A finite real number in the domain (and within the element type's range).
    Real(Domain),
    /// An integer in the domain.
    Int(Domain),
    Bool,
    /// One of the names; on the wire, its index.
    Choice(&'static [&'static str]),
}

/// `lo ≤ x ≤ hi` with either end open; `nullable` admits "none" (NaN on the wire).
#[derive(Debug, Clone, Copy)]
pub struct Domain {
    pub lo: f64,
    pub lo_open: bool,
    pub hi: f64,
    pub hi_open: bool,
    pub nullable: bool,
}

impl Domain {
    pub const ANY: Domain = Domain::new(f64::NEG_INFINITY, false, f64::INFINITY, false);
    pub const NON_NEG: Domain = Domain::new(0.0, false, f64::INFINITY, false);
    pub const POSITIVE: Domain = Domain::new(0.0, true, f64::INFINITY, false);
    /// `[0, 1)`, the domain of an exponential decay rate.
    pub const DECAY: Domain = Domain::new(0.0, false, 1.0, true);
    /// `[0, 1]`.
    pub const UNIT: Domain = Domain::new(0.0, false, 1.0, false);
    /// Integers `≥ 1`.
    pub const COUNT: Domain = Domain::new(1.0, false, f64::INFINITY, false);

    pub const fn new(lo: f64, lo_open: bool, hi: f64, hi_open: bool) -> Domain {
        Domain {
            lo,
            lo_open,
            hi,
            hi_open,
            nullable: false,
        }
    }
    pub const fn or_null(self) -> Domain {
        Domain {
            nullable: true,
            ..self
        }
    }
    pub fn contains(&self, x: f64) -> bool {
        let above = if self.lo_open {
            x > self.lo
        } else {
            x >= self.lo
        };
        let below = if self.hi_open {
            x < self.hi
        } else {
            x <= self.hi
        };
        above && below
    }
    /// `>= 0`, `in [0, 1)`, ...: the phrase after "must be".
    pub fn describe(&self) -> String {
        let (lo_inf, hi_inf) = (self.lo == f64::NEG_INFINITY, self.hi == f64::INFINITY);
        match (lo_inf, hi_inf) {
            (true, true) => "a finite number".to_owned(),
            (false, true) => format!("{} {}", if self.lo_open { ">" } else { ">=" }, num(self.lo)),
            (true, false) => format!("{} {}", if self.hi_open { "<" } else { "<=" }, num(self.hi)),
            (false, false) => format!(
                "in {}{}, {}{}",
                if self.lo_open { "(" } else { "[" },
                num(self.lo),
                num(self.hi),
                if self.hi_open { ")" } else { "]" }
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Default {
    Value(f64),
    /// "None": the option is off unless given (the domain is nullable).
    Null,
}

/// A state buffer of one tensor.
#[derive(Debug)]
pub struct Slot {
    /// State-dict key: PyTorch's spelling where PyTorch has the buffer.
    pub key: &'static str,
    /// Path of this leaf in Optax's state (`0.mu`), if Optax has it.
    pub optax: Option<&'static str>,
    pub len: Len,
    pub when: When,
    /// Value of every element when the tensor takes its first step.
    pub init: Init,
    /// The math needs the values to be `>= 0` (second moments, accumulators); a state dict
    /// holding a negative one is rejected.
    pub nonneg: bool,
}

/// Length of a slot for a tensor of shape `[..batch, rows, cols]` (1-D: `[cols]`, 0-D: `[1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// One per element.
    N,
    /// One per row of the last two dimensions: `batch · rows` (a factored row statistic).
    Rows,
    /// One per column of the last two dimensions: `batch · cols`.
    Cols,
    /// One number per tensor.
    Scalar,
}

/// When a slot exists for a tensor.
#[derive(Debug, Clone, Copy)]
pub enum When {
    Always,
    /// The boolean hyperparameter is true.
    Flag(&'static str),
    /// The hyperparameter is not zero.
    NonZero(&'static str),
    /// The tensor has two or more dimensions.
    Factored,
    /// The tensor has fewer than two dimensions.
    NotFactored,
    /// The tensor has exactly two dimensions (a matrix).
    Matrix,
    /// The tensor does not have exactly two dimensions.
    NotMatrix,
}

#[derive(Debug, Clone, Copy)]
pub enum Init {
    Zero,
    Value(f64),
    /// The value of a hyperparameter.
    Hp(&'static str),
}

/// A rule across hyperparameters: when the flag is true, the other one must pass the test.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub flag: &'static str,
    pub hparam: &'static str,
    pub test: Test,
}

#[derive(Debug, Clone, Copy)]
pub enum Test {
    Positive,
    Zero,
}

impl Test {
    fn holds(self, x: f64) -> bool {
        match self {
            Test::Positive => x > 0.0,
            Test::Zero => x == 0.0,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Test::Positive => "> 0",
            Test::Zero => "= 0",
        }
    }
}

/// An f64 as JavaScript's `String(x)` writes it (shortest round-trip digits, ECMAScript's
/// layout), so messages from the core and from the TypeScript layer read the same.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{:e}", x.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e >= 0 { "+" } else { "-" };
        if k == 1 {
            format!("{digits}e{sign}{}", e.abs())
        } else {
            format!("{}.{}e{sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    };
    if x < 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod num_tests {
    #[test]
    fn formats_as_javascript_does() {
        for (x, s) in [
            (1e-8, "1e-8"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123.456, "123.456"),
            (-0.5, "-0.5"),
            (1.5e-10, "1.5e-10"),
            (3.4028234663852886e38, "3.4028234663852886e+38"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0, "1"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(super::num(x), s);
        }
    }
}

/// Shape facts of one tensor that slot rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub numel: usize,
    pub ndim: usize,
    /// Product of all but the last two dimensions (1 below two dimensions).
    pub batch: usize,
    /// Second-to-last dimension (1 below two dimensions).
    pub rows: usize,
    /// Last dimension (`numel` for 1-D, 1 for 0-D).
    pub cols: usize,
}

impl Shape {
    pub fn of(dims: &[usize]) -> Shape {
        let numel = dims.iter().product();
        let nd = dims.len();
        let (batch, rows, cols) = match nd {
            0 => (1, 1, 1),
            1 => (1, 1, dims[0]),
            _ => (dims[..nd - 2].iter().product(), dims[nd - 2], dims[nd - 1]),
        };
        Shape {
            numel,
            ndim: nd,
            batch,
            rows,
            cols,
        }
    }
    pub fn factored(&self) -> bool {
        self.ndim >= 2
    }
}

impl Len {
    pub fn of(self, s: &Shape) -> usize {
        match self {
            Len::N => s.numel,
            Len::Rows => s.batch * s.rows,
            Len::Cols => s.batch * s.cols,
            Len::Scalar => 1,
        }
    }
}

impl Spec {
    /// Index of the hyperparameter called `name` (specs are checked by a test to refer only to
    /// their own hyperparameters, so this never fails for a registered spec).
    pub fn hp_index(&self, name: &str) -> usize {
        self.hparams
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_else(|| panic!("{}: no hyperparameter {name}", self.name))
    }

    /// Whether `slot` exists for a tensor of `shape` in a group with hyperparameters `hp`.
    pub fn has_slot(&self, slot: &Slot, hp: &[f64], shape: &Shape) -> bool {
        self.slot_switched_on(slot, hp) && slot_fits(slot, shape)
    }

    /// The options' half of [`Spec::has_slot`]: false when `hp` switches the slot off (its
    /// condition names an option), true for a slot whose condition is the shape's.
    pub fn slot_switched_on(&self, slot: &Slot, hp: &[f64]) -> bool {
        match slot.when {
            When::Flag(name) | When::NonZero(name) => hp[self.hp_index(name)] != 0.0,
            _ => true,
        }
    }

    /// Initial value of a slot's elements.
    pub fn init_value(&self, slot: &Slot, hp: &[f64]) -> f64 {
        match slot.init {
            Init::Zero => 0.0,
            Init::Value(v) => v,
            Init::Hp(name) => hp[self.hp_index(name)],
        }
    }

    /// Checks one group's hyperparameters (as they are on the wire) against the domains and
    /// rules; `arg` prefixes the names in messages (`groups[0].`).
    pub fn check_group<T: Real>(&self, hp: &[f64], arg: &dyn Fn(&str) -> String) -> Result<()> {
        for (h, &x) in self.hparams.iter().zip(hp) {
            check_value::<T>(h, x, || arg(h.name))?;
        }
        for r in self.rules {
            if hp[self.hp_index(r.flag)] != 0.0 && !r.test.holds(hp[self.hp_index(r.hparam)]) {
                return Err(Error::range(
                    arg(r.flag),
                    format!("requires {} {}", r.hparam, r.test.describe()),
                ));
            }
        }
        Ok(())
    }
}

/// The shape's half of [`Spec::has_slot`]: false when `shape` rules the slot out, true for a
/// slot whose condition is an option's.
pub fn slot_fits(slot: &Slot, shape: &Shape) -> bool {
    match slot.when {
        When::Factored => shape.factored(),
        When::NotFactored => !shape.factored(),
        When::Matrix => shape.ndim == 2,
        When::NotMatrix => shape.ndim != 2,
        When::Always | When::Flag(_) | When::NonZero(_) => true,
    }
}

/// Checks one hyperparameter value (as on the wire: NaN for none, 0/1 for booleans, the index
/// for a choice). The TypeScript layer produces the same messages from the generated specs.
pub fn check_value<T: Real>(h: &HParam, x: f64, arg: impl FnOnce() -> String) -> Result<()> {
    let fail = |arg: String, what: String| {
        Err(Error::range(arg, format!("must be {what}, got {}", num(x))))
    };
    match h.kind {
        Kind::Bool => {
            if x != 0.0 && x != 1.0 {
                return fail(arg(), "a boolean (0 or 1 on the wire)".to_owned());
            }
        }
        Kind::Choice(names) => {
            if !(x >= 0.0 && x.fract() == 0.0 && (x as usize) < names.len()) {
                return fail(arg(), format!("the index of one of {}", names.join(", ")));
            }
        }
        Kind::Real(d) | Kind::Int(d) => {
            if x.is_nan() && d.nullable {
                return Ok(());
            }
            if !x.is_finite() {
                return fail(arg(), format!("a finite number ({})", d.describe()));
            }
            if matches!(h.kind, Kind::Int(_)) && x.fract() != 0.0 {
                return fail(arg(), "an integer".to_owned());
            }
            if !d.contains(x) {
                return fail(arg(), d.describe());
            }
            if x.abs() > T::MAX {
                return fail(
                    arg(),
                    format!(
                        "within the {} range (|x| <= {})",
                        T::DTYPE.name(),
                        num(T::MAX)
                    ),
                );
            }
        }
    }
    Ok(())
}

// ---- JSON (for `specs()` and the TypeScript generator) ---------------------------------------

fn js_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn js_opt(s: Option<&str>) -> String {
    s.map(js_str).unwrap_or_else(|| "null".to_owned())
}

/// A JSON number; infinities as the strings `"Infinity"` / `"-Infinity"` (strict JSON has none).
fn js_num(x: f64) -> String {
    if x.is_infinite() {
        js_str(&num(x))
    } else {
        num(x)
    }
}

fn js_domain(d: &Domain) -> String {
    format!(
        "{{\"lo\":{},\"loOpen\":{},\"hi\":{},\"hiOpen\":{},\"nullable\":{}}}",
        js_num(d.lo),
        d.lo_open,
        js_num(d.hi),
        d.hi_open,
        d.nullable
    )
}

impl Spec {
    /// This spec as a JSON object (field names as in `ts/generated/specs.ts`).
    pub fn to_json(&self) -> String {
        let hparams: Vec<String> = self
            .hparams
            .iter()
            .map(|h| {
                let (kind, domain, choices) = match h.kind {
                    Kind::Real(d) => ("real", js_domain(&d), "null".to_owned()),
                    Kind::Int(d) => ("int", js_domain(&d), "null".to_owned()),
                    Kind::Bool => ("bool", "null".to_owned(), "null".to_owned()),
                    Kind::Choice(c) => (
                        "choice",
                        "null".to_owned(),
                        format!("[{}]", c.iter().map(|s| js_str(s)).collect::<Vec<_>>().join(",")),
                    ),
                };
                let default = match h.default {
                    Default::Value(v) => js_num(v),
                    Default::Null => "null".to_owned(),
                };
                format!(
                    "{{\"name\":{},\"torch\":{},\"optax\":{},\"optaxMask\":{},\"kind\":\"{kind}\",\"domain\":{domain},\"choices\":{choices},\"default\":{default},\"doc\":{}}}",
                    js_str(h.name),
                    js_opt(h.torch),
                    js_opt(h.optax),
                    js_opt(h.optax_mask),
                    js_str(h.doc)
                )
            })
            .collect();
        let state: Vec<String> = self
            .state
            .iter()
            .map(|s| {
                let len = match s.len {
                    Len::N => "n",
                    Len::Rows => "rows",
                    Len::Cols => "cols",
                    Len::Scalar => "scalar",
                };
                let when = match s.when {
                    When::Always => "{\"kind\":\"always\"}".to_owned(),
                    When::Flag(n) => format!("{{\"kind\":\"flag\",\"hparam\":{}}}", js_str(n)),
                    When::NonZero(n) => {
                        format!("{{\"kind\":\"nonzero\",\"hparam\":{}}}", js_str(n))
                    }
                    When::Factored => "{\"kind\":\"factored\"}".to_owned(),
                    When::NotFactored => "{\"kind\":\"notFactored\"}".to_owned(),
                    When::Matrix => "{\"kind\":\"matrix\"}".to_owned(),
                    When::NotMatrix => "{\"kind\":\"notMatrix\"}".to_owned(),
                };
                let init = match s.init {
                    Init::Zero => "{\"kind\":\"value\",\"value\":0}".to_owned(),
                    Init::Value(v) => format!("{{\"kind\":\"value\",\"value\":{}}}", js_num(v)),
                    Init::Hp(n) => format!("{{\"kind\":\"hparam\",\"hparam\":{}}}", js_str(n)),
                };
                format!(
                    "{{\"key\":{},\"optax\":{},\"len\":\"{len}\",\"when\":{when},\"init\":{init},\"nonneg\":{}}}",
                    js_str(s.key),
                    js_opt(s.optax),
                    s.nonneg
                )
            })
            .collect();
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                format!(
                    "{{\"flag\":{},\"hparam\":{},\"test\":\"{}\"}}",
                    js_str(r.flag),
                    js_str(r.hparam),
                    match r.test {
                        Test::Positive => "positive",
                        Test::Zero => "zero",
                    }
                )
            })
            .collect();
        let driver = match self.driver {
            Driver::Elementwise => "elementwise",
            Driver::Tensorwise => "tensorwise",
            Driver::Ts => "ts",
        };
        let counts: Vec<String> = self
            .optax_counts
            .iter()
            .map(|(p, o)| format!("{{\"path\":{},\"offset\":{o}}}", js_str(p)))
            .collect();
        let fixed: Vec<String> = self
            .torch_fixed
            .iter()
            .map(|(k, v)| format!("{{\"key\":{},\"value\":{v}}}", js_str(k)))
            .collect();
        format!(
            "{{\"id\":{},\"name\":{},\"summary\":{},\"reference\":{},\"torch\":{},\"optax\":{},\"optaxCounts\":[{}],\"torchFixed\":[{}],\"driver\":\"{driver}\",\"hparams\":[{}],\"state\":[{}],\"rules\":[{}]}}",
            self.id,
            js_str(self.name),
            js_str(self.summary),
            js_str(self.reference),
            js_opt(self.torch),
            js_opt(self.optax),
            counts.join(","),
            fixed.join(","),
            hparams.join(","),
            state.join(","),
            rules.join(",")
        )
    }
}

impl HParam {
    /// A real hyperparameter.
    pub const fn real(
        name: &'static str,
        torch: Option<&'static str>,
        optax: Option<&'static str>,
        domain: Domain,
        default: f64,
        doc: &'static str,
    ) -> HParam {
        HParam {
            name,
            torch,
            optax,
            optax_mask: None,
            kind: Kind::Real(domain),
            default: Default::Value(default),
            doc,
        }
    }
    /// A boolean hyperparameter.
    pub const fn flag(
        name: &'static str,
        torch: Option<&'static str>,
        optax: Option<&'static str>,
        default: bool,
        doc: &'static str,
    ) -> HParam {
        HParam {
            name,
            torch,
            optax,
            optax_mask: None,
            kind: Kind::Bool,
            default: Default::Value(if default { 1.0 } else { 0.0 }),
            doc,
        }
    }
    /// This hyperparameter, turned off per tensor by Optax's mask argument `mask`.
    pub const fn masked_by(self, mask: &'static str) -> HParam {
        HParam {
            optax_mask: Some(mask),
            ..self
        }
    }
    /// `lr` with its PyTorch and Optax names.
    pub const fn lr(default: f64) -> HParam {
        HParam::real(
            "lr",
            Some("lr"),
            Some("learning_rate"),
            Domain::NON_NEG,
            default,
            "Learning rate.",
        )
    }
    /// `weightDecay` with its PyTorch and Optax names.
    pub const fn weight_decay(default: f64, doc: &'static str) -> HParam {
        HParam::real(
            "weightDecay",
            Some("weight_decay"),
            Some("weight_decay"),
            Domain::NON_NEG,
            default,
            doc,
        )
    }
    /// `maximize`: ascend instead of descend (the gradient is negated first).
    pub const MAXIMIZE: HParam = HParam::flag(
        "maximize",
        Some("maximize"),
        None,
        false,
        "Maximize the objective: the gradient is negated before anything else.",
    );
    /// `eps` added to a denominator.
    pub const fn eps(default: f64) -> HParam {
        HParam::real(
            "eps",
            Some("eps"),
            Some("eps"),
            Domain::NON_NEG,
            default,
            "Added to the denominator for numerical stability.",
        )
    }
    /// `beta1`/`beta2`: PyTorch's `betas[0]`/`betas[1]`, Optax's `b1`/`b2`.
    pub const fn beta(which: u8, default: f64) -> HParam {
        if which == 1 {
            HParam::real(
                "beta1",
                Some("betas.0"),
                Some("b1"),
                Domain::DECAY,
                default,
                "Decay rate of the first-moment (mean) estimate.",
            )
        } else {
            HParam::real(
                "beta2",
                Some("betas.1"),
                Some("b2"),
                Domain::DECAY,
                default,
                "Decay rate of the second-moment (uncentered variance) estimate.",
            )
        }
    }
}

impl Slot {
    /// A per-element slot that always exists and starts at zero.
    pub const fn n(key: &'static str, optax: Option<&'static str>) -> Slot {
        Slot {
            key,
            optax,
            len: Len::N,
            when: When::Always,
            init: Init::Zero,
            nonneg: false,
        }
    }
    /// As [`Slot::n`], for values that must stay `>= 0`.
    pub const fn n_nonneg(key: &'static str, optax: Option<&'static str>) -> Slot {
        Slot {
            nonneg: true,
            ..Slot::n(key, optax)
        }
    }
}
