//! Dense models (linear, logistic and softmax regression, MLPs of any depth and width): forward
//! pass, loss and backward pass over one minibatch in one call.
//!
//! A model is a stack of dense layers `h = act(x·Wᵀ + b)` (PyTorch's `nn.Linear` layout: `W` is
//! `[out, in]`, row-major) whose parameters are ranges of a parameter arena; the gradients go to
//! the same ranges of the gradient arena (overwritten). The model's description travels in
//! `args`, so nothing about it is kept between calls; the activations and scratch live in a
//! workspace buffer the caller allocates once (its length comes from `MODEL_INFO`) and reuses,
//! so a step allocates nothing of its own (the `gemm` crate allocates its packing buffers per
//! product; see [`mm`]).
//!
//! # Ops
//!
//! | op | buffers | outputs |
//! |---|---|---|
//! | `MODEL_INFO` | none | workspace length for `batch` rows |
//! | `MODEL_TRAIN` | params, grads, x, y, workspace, out (grad_x, with flag 2) | loss, loss sum, correct |
//! | `MODEL_EVAL` | params, –, x, y, workspace | loss, loss sum, correct |
//! | `MODEL_PREDICT` | params, –, x, –, workspace, out (`batch × outputs`) | |
//!
//! `x` holds the dataset's rows (`rows × inputs`, row-major), `y` its targets (`rows × outputs`,
//! or one class index per row for softmax cross-entropy, as floats); the batch is a list of row
//! indices (gathered into the workspace) or a range of rows (read in place).
//!
//! # Args
//!
//! ```text
//! [layers L, inputs, loss, reduction, delta, seed, flags, rows mode, batch B,   (header, 9)
//!  (out, activation, dropout, weight offset, bias offset) × L,
//!  rows: B indices (mode 0) | first row (mode 1)   (absent for MODEL_INFO),
//!  outputs…]
//! ```
//!
//! loss: 0 mse, 1 mae, 2 huber, 3 bce_with_logits, 4 softmax_cross_entropy ([`loss`]);
//! reduction: 0 mean, 1 sum; delta: Huber's δ (> 0; ignored by the other losses); seed: the
//! dropout seed (an integer in [0, 2³²)); flags: 1 = training (dropout on), 2 = write d loss/d x
//! into `out`; activation: 0 identity, 1 relu, 2 leaky_relu, 3 tanh, 4 sigmoid, 5 gelu
//! ([`act`]); dropout: the drop probability of the layer's output in [0, 1) ([`dropout`]).
//! `loss` is the reduced loss, `loss sum` the unreduced sum (so callers can reduce over several
//! calls), `correct` the number of correct predictions (NaN for regression losses).
//!
//! # Workspace
//!
//! For a batch of B rows: the gathered inputs (`B × inputs`), then per layer its output `h`
//! (`B × out`), its pre-activation (GELU only) and its dropped-out output (dropout > 0 only),
//! then two gradient blocks of `B × max out`. The backward pass runs the layers in reverse, each
//! in three steps: one fused pass over its gradient block (dropout mask, activation derivative,
//! bias gradient summed in f64 in row order), then `dW = Gᵀ·A` and `G_prev = G·W` by GEMM.

pub mod act;
pub mod dropout;
pub mod loss;
mod mm;

use crate::error::{Error, Result};
use crate::real::Real;
use crate::spec::num;
use crate::step::MAX_SAFE;
use act::Act;
use loss::{Loss, Reduction, Totals};

/// Numbers before the layer table.
pub const HEADER: usize = 9;
/// Numbers per layer in the table.
pub const LAYER_STRIDE: usize = 5;
/// `flags` bit: training mode (dropout on).
pub const FLAG_TRAINING: u32 = 1;
/// `flags` bit: write the gradient with respect to the input rows into `out`.
pub const FLAG_GRAD_X: u32 = 2;
/// Rows mode: a list of row indices.
pub const ROWS_LIST: u32 = 0;
/// Rows mode: a range of rows given by its first row.
pub const ROWS_RANGE: u32 = 1;
/// Columns per block of the fused backward pass (its f64 bias accumulators live on the stack).
const COLS: usize = 64;

/// Which model op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Info,
    Train,
    Eval,
    Predict,
}

impl Kind {
    /// Numbers the op writes back at the end of `args`.
    pub fn outputs(self) -> usize {
        match self {
            Kind::Info => 1,
            Kind::Train | Kind::Eval => 3,
            Kind::Predict => 0,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Info => "MODEL_INFO",
            Kind::Train => "MODEL_TRAIN",
            Kind::Eval => "MODEL_EVAL",
            Kind::Predict => "MODEL_PREDICT",
        }
    }
}

/// The batch's rows of the dataset.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    List(&'a [f64]),
    Range(usize),
}

impl Rows<'_> {
    /// Dataset row of batch row `r`.
    #[inline(always)]
    pub fn get(&self, r: usize) -> usize {
        match self {
            Rows::List(l) => l[r] as usize,
            Rows::Range(s) => s + r,
        }
    }
}

/// One dense layer as the table describes it.
#[derive(Debug, Clone, Copy)]
pub struct Layer {
    pub inp: usize,
    pub out: usize,
    pub act: Act,
    pub dropout: f64,
    /// Offset of the weight `[out, inp]` in the arenas.
    pub w: usize,
    /// Offset of the bias `[out]`.
    pub b: usize,
}

/// A checked description, read from `args` without copying (nothing is allocated).
#[derive(Debug, Clone, Copy)]
pub struct Desc<'a> {
    pub layers: usize,
    pub inputs: usize,
    pub loss: Loss,
    pub reduction: Reduction,
    pub delta: f64,
    pub seed: u32,
    pub training: bool,
    pub grad_x: bool,
    pub batch: usize,
    table: &'a [f64],
    pub rows: Rows<'a>,
}

fn bad(i: usize, name: &str, what: String) -> Error {
    Error::range(format!("args[{i}] ({name})"), what)
}

fn int(args: &[f64], i: usize, name: &str, lo: f64, hi: f64) -> Result<usize> {
    let v = args[i];
    if v.is_finite() && v.fract() == 0.0 && v >= lo && v <= hi {
        Ok(v as usize)
    } else {
        Err(bad(
            i,
            name,
            format!(
                "must be an integer in [{}, {}], got {}",
                num(lo),
                num(hi),
                num(v)
            ),
        ))
    }
}

impl<'a> Desc<'a> {
    /// Reads and checks a description (`args` without the outputs).
    pub fn parse(args: &'a [f64], kind: Kind) -> Result<Desc<'a>> {
        if args.len() < HEADER {
            return Err(Error::type_(
                "args",
                format!(
                    "{} needs a header of {HEADER} numbers, then the layer table",
                    kind.name()
                ),
            ));
        }
        let layers = int(args, 0, "layers", 1.0, MAX_SAFE)?;
        let inputs = int(args, 1, "inputs", 1.0, MAX_SAFE)?;
        let loss = Loss::from_code(args[2]).ok_or_else(|| {
            bad(
                2,
                "loss",
                format!(
                    "must be a loss code 0..4 ({}), got {}",
                    loss::NAMES.join(", "),
                    num(args[2])
                ),
            )
        })?;
        let reduction = match args[3] {
            0.0 => Reduction::Mean,
            1.0 => Reduction::Sum,
            v => {
                return Err(bad(
                    3,
                    "reduction",
                    format!("must be 0 (mean) or 1 (sum), got {}", num(v)),
                ))
            }
        };
        let delta = args[4];
        if loss == Loss::Huber && !(delta > 0.0 && delta.is_finite()) {
            return Err(bad(
                4,
                "delta",
                format!("Huber's delta must be finite and > 0, got {}", num(delta)),
            ));
        }
        let seed = int(args, 5, "seed", 0.0, u32::MAX as f64)? as u32;
        let flags = int(args, 6, "flags", 0.0, 3.0)? as u32;
        let mode = int(args, 7, "rows mode", 0.0, 1.0)? as u32;
        let batch = int(args, 8, "batch", 1.0, MAX_SAFE)?;
        let table_end = HEADER + layers.min(args.len()) * LAYER_STRIDE;
        let rows_len = match (kind, mode) {
            (Kind::Info, _) => 0,
            (_, ROWS_LIST) => batch,
            _ => 1,
        };
        let want = table_end.saturating_add(rows_len);
        if layers > args.len() || args.len() != want {
            return Err(Error::type_(
                "args",
                format!(
                    "length {} must be {} for {} (header {HEADER}, {layers} layers × {LAYER_STRIDE}, {rows_len} rows, {} outputs)",
                    args.len() + kind.outputs(),
                    want.saturating_add(kind.outputs()),
                    kind.name(),
                    kind.outputs()
                ),
            ));
        }
        for l in 0..layers {
            let at = HEADER + l * LAYER_STRIDE;
            int(args, at, &format!("layers[{l}].out"), 1.0, MAX_SAFE)?;
            if Act::from_code(args[at + 1]).is_none() {
                return Err(bad(
                    at + 1,
                    &format!("layers[{l}].activation"),
                    format!(
                        "must be an activation code 0..5 ({}), got {}",
                        act::NAMES.join(", "),
                        num(args[at + 1])
                    ),
                ));
            }
            let p = args[at + 2];
            if !(0.0..1.0).contains(&p) {
                return Err(bad(
                    at + 2,
                    &format!("layers[{l}].dropout"),
                    format!("must be in [0, 1), got {}", num(p)),
                ));
            }
            int(
                args,
                at + 3,
                &format!("layers[{l}].weight offset"),
                0.0,
                MAX_SAFE,
            )?;
            int(
                args,
                at + 4,
                &format!("layers[{l}].bias offset"),
                0.0,
                MAX_SAFE,
            )?;
        }
        let rows = match (kind, mode) {
            (Kind::Info, _) => Rows::Range(0),
            (_, ROWS_LIST) => {
                for i in table_end..want {
                    int(args, i, &format!("rows[{}]", i - table_end), 0.0, MAX_SAFE)?;
                }
                Rows::List(&args[table_end..want])
            }
            _ => Rows::Range(int(args, table_end, "first row", 0.0, MAX_SAFE)?),
        };
        Ok(Desc {
            layers,
            inputs,
            loss,
            reduction,
            delta,
            seed,
            training: flags & FLAG_TRAINING != 0,
            grad_x: flags & FLAG_GRAD_X != 0,
            batch,
            table: &args[HEADER..table_end],
            rows,
        })
    }

    /// Layer `l` (`l < layers`).
    #[inline]
    pub fn layer(&self, l: usize) -> Layer {
        let t = &self.table[l * LAYER_STRIDE..(l + 1) * LAYER_STRIDE];
        Layer {
            inp: if l == 0 {
                self.inputs
            } else {
                self.table[(l - 1) * LAYER_STRIDE] as usize
            },
            out: t[0] as usize,
            act: Act::from_code(t[1]).expect("checked by parse"),
            dropout: t[2],
            w: t[3] as usize,
            b: t[4] as usize,
        }
    }

    /// Width of the last layer.
    pub fn outputs(&self) -> usize {
        self.layer(self.layers - 1).out
    }

    fn max_width(&self) -> usize {
        (0..self.layers)
            .map(|l| self.layer(l).out)
            .max()
            .unwrap_or(0)
    }

    /// Workspace elements of layer `l` for `b` rows.
    fn layer_len(&self, l: usize, b: usize) -> Option<usize> {
        let y = self.layer(l);
        let blocks = 1 + y.act.needs_z() as usize + (y.dropout > 0.0) as usize;
        b.checked_mul(y.out)?.checked_mul(blocks)
    }

    /// Offset of layer `l`'s block in the workspace.
    fn section(&self, l: usize) -> usize {
        let mut off = self.batch * self.inputs;
        for i in 0..l {
            off += self
                .layer_len(i, self.batch)
                .expect("checked by workspace_len");
        }
        off
    }

    /// Length of the forward part of the workspace (inputs and every layer's blocks).
    fn front_len(&self) -> Option<usize> {
        let mut n = self.batch.checked_mul(self.inputs)?;
        for l in 0..self.layers {
            n = n.checked_add(self.layer_len(l, self.batch)?)?;
        }
        Some(n)
    }

    /// Workspace elements for a batch of `batch` rows.
    pub fn workspace_len(&self) -> Option<usize> {
        let g = self.batch.checked_mul(self.max_width())?.checked_mul(2)?;
        self.front_len()?.checked_add(g)
    }

    /// Whether layer `l`'s output goes through dropout in this call.
    fn drops(&self, l: usize) -> bool {
        self.training && self.layer(l).dropout > 0.0
    }

    /// Offset of layer `l`'s output (what the next layer reads) in the workspace.
    fn output_off(&self, l: usize) -> usize {
        let y = self.layer(l);
        let mut off = self.section(l);
        if self.drops(l) {
            off += self.batch * y.out * (1 + y.act.needs_z() as usize);
        }
        off
    }

    /// The batch's input rows: gathered at the front of the workspace, or read in place.
    fn input<'x, T>(&self, x: &'x [T], front: &'x [T]) -> &'x [T] {
        let n = self.batch * self.inputs;
        match self.rows {
            Rows::List(_) => &front[..n],
            Rows::Range(s) => &x[s * self.inputs..s * self.inputs + n],
        }
    }

    /// `mean` divides the summed loss by this.
    fn scale(&self) -> f64 {
        match self.reduction {
            Reduction::Mean => 1.0 / self.loss.terms(self.batch, self.outputs()) as f64,
            Reduction::Sum => 1.0,
        }
    }
}

const X: &str = "buffers[2] (x)";
const Y: &str = "buffers[3] (y)";

/// Checks the buffers against the description; nothing has been written yet.
#[allow(clippy::too_many_arguments)]
fn check<T: Real>(
    d: &Desc,
    kind: Kind,
    p: usize,
    g: usize,
    x: usize,
    y: &[T],
    ws: usize,
    out: usize,
) -> Result<()> {
    for l in 0..d.layers {
        let y = d.layer(l);
        let fits = |off: usize, len: Option<usize>| {
            len.and_then(|n| off.checked_add(n)).is_some_and(|e| e <= p)
        };
        if !fits(y.w, y.out.checked_mul(y.inp)) || !fits(y.b, Some(y.out)) {
            return Err(Error::range(
                format!("layers[{l}]"),
                format!(
                    "weight [{}, {}] at {} or bias [{}] at {} exceeds buffers[0] (params) of length {p}",
                    y.out, y.inp, y.w, y.out, y.b
                ),
            ));
        }
    }
    if kind == Kind::Train && g != p {
        return Err(Error::range(
            "buffers[1] (grads)",
            format!("length {g} must equal params length {p}"),
        ));
    }
    if x % d.inputs != 0 {
        return Err(Error::type_(
            X,
            format!(
                "length {x} is not a whole number of rows of {} inputs",
                d.inputs
            ),
        ));
    }
    let rows = x / d.inputs;
    let n_out = d.outputs();
    if kind != Kind::Predict {
        let cols = d.loss.target_cols(n_out);
        if Some(y.len()) != rows.checked_mul(cols) {
            return Err(Error::range(
                Y,
                format!(
                    "length {} must be {rows} rows × {cols} target columns",
                    y.len()
                ),
            ));
        }
    }
    match d.rows {
        Rows::List(list) => {
            if let Some(i) = list.iter().position(|&r| r as usize >= rows) {
                return Err(Error::range(
                    format!("rows[{i}]"),
                    format!("row {} is out of range: x holds {rows} rows", list[i]),
                ));
            }
        }
        Rows::Range(s) => {
            if s.checked_add(d.batch).is_none_or(|e| e > rows) {
                return Err(Error::range(
                    "rows",
                    format!(
                        "rows {s}..{s}+{} are out of range: x holds {rows} rows",
                        d.batch
                    ),
                ));
            }
        }
    }
    if kind != Kind::Predict && d.loss == Loss::SoftmaxCrossEntropy {
        for r in 0..d.batch {
            let row = d.rows.get(r);
            let c = y[row].f64();
            if !(c >= 0.0 && c.fract() == 0.0 && c < n_out as f64) {
                return Err(Error::range(
                    format!("{Y}[{row}]"),
                    format!(
                        "class label must be an integer in [0, {}), got {}",
                        n_out,
                        num(c)
                    ),
                ));
            }
        }
    }
    let need = d
        .workspace_len()
        .ok_or_else(|| Error::range("args[8] (batch)", "the workspace size overflows"))?;
    if ws < need {
        return Err(Error::range(
            "buffers[4] (workspace)",
            format!(
                "length {ws} is below the {need} elements a batch of {} needs (MODEL_INFO)",
                d.batch
            ),
        ));
    }
    let out_need = match kind {
        Kind::Predict => d.batch * n_out,
        Kind::Train if d.grad_x => d.batch * d.inputs,
        _ => 0,
    };
    if out < out_need {
        return Err(Error::range(
            "buffers[5] (out)",
            format!("length {out} is below the {out_need} elements this call writes"),
        ));
    }
    Ok(())
}

/// Runs a model op (`ops::call` dispatches here).
pub fn call<T: Real>(kind: Kind, args: &mut [f64], bufs: &mut [&mut [T]; 6]) -> Result<()> {
    let outs = kind.outputs();
    if args.len() < HEADER + outs {
        return Err(Error::type_(
            "args",
            format!(
                "{} needs a header of {HEADER} numbers, the layer table, the rows and {outs} outputs",
                kind.name()
            ),
        ));
    }
    let split = args.len() - outs;
    let (head, outv) = args.split_at_mut(split);
    let d = Desc::parse(head, kind)?;
    if kind == Kind::Info {
        let n = d
            .workspace_len()
            .filter(|&n| n as f64 <= MAX_SAFE)
            .ok_or_else(|| Error::range("args[8] (batch)", "the workspace size overflows"))?;
        outv[0] = n as f64;
        return Ok(());
    }
    let [p, g, x, y, ws, out] = bufs;
    check(&d, kind, p.len(), g.len(), x.len(), y, ws.len(), out.len())?;
    let (p, x, y): (&[T], &[T], &[T]) = (p, x, y);
    let t = crate::par::in_pool(|| match kind {
        Kind::Train => Some(train(&d, p, g, x, y, ws, out)),
        Kind::Eval => Some(eval(&d, p, x, y, ws)),
        _ => {
            predict(&d, p, x, ws, out);
            None
        }
    });
    if let Some(t) = t {
        outv[0] = match d.reduction {
            Reduction::Mean => t.sum * d.scale(),
            Reduction::Sum => t.sum,
        };
        outv[1] = t.sum;
        outv[2] = t.correct;
    }
    Ok(())
}

/// Forward pass over the batch into the front of the workspace.
fn forward<T: Real>(d: &Desc, p: &[T], x: &[T], front: &mut [T]) {
    let b = d.batch;
    let inp = d.inputs;
    if let Rows::List(list) = d.rows {
        for (r, &row) in list.iter().enumerate() {
            let row = row as usize;
            front[r * inp..(r + 1) * inp].copy_from_slice(&x[row * inp..(row + 1) * inp]);
        }
    }
    let mut off = b * inp;
    for l in 0..d.layers {
        let y = d.layer(l);
        let len = d.layer_len(l, b).expect("checked");
        let (done, cur) = front.split_at_mut(off);
        let done: &[T] = done;
        let a = if l == 0 {
            d.input(x, done)
        } else {
            &done[d.output_off(l - 1)..][..b * y.inp]
        };
        let (h, rest) = cur[..len].split_at_mut(b * y.out);
        let (z, dropped) = rest.split_at_mut(if y.act.needs_z() { b * y.out } else { 0 });
        mm::xwt(h, a, &p[y.w..y.w + y.out * y.inp], b, y.inp, y.out);
        act::bias_forward(y.act, h, z, &p[y.b..y.b + y.out], y.out);
        if d.drops(l) {
            dropout_forward(d.seed, l as u32, y.dropout, h, dropped, y.out);
        }
        off += len;
    }
}

/// `dst = h·mask/(1 − p)` row by row.
fn dropout_forward<T: Real>(seed: u32, layer: u32, p: f64, h: &[T], dst: &mut [T], width: usize) {
    let th = dropout::threshold(p);
    let scale = T::of(1.0 / (1.0 - p));
    for (r, (hr, dr)) in h
        .chunks_exact(width)
        .zip(dst.chunks_exact_mut(width))
        .enumerate()
    {
        let key = dropout::row_key(seed, layer, r as u32);
        for (j, (&hv, dv)) in hr.iter().zip(dr.iter_mut()).enumerate() {
            *dv = if dropout::keep(key, j as u32, th) {
                hv * scale
            } else {
                T::ZERO
            };
        }
    }
}

fn eval<T: Real>(d: &Desc, p: &[T], x: &[T], y: &[T], ws: &mut [T]) -> Totals {
    let front = &mut ws[..d.front_len().expect("checked")];
    forward(d, p, x, front);
    let n = d.outputs();
    let o = &front[d.output_off(d.layers - 1)..][..d.batch * n];
    loss::run(
        d.loss,
        d.delta,
        o,
        n,
        y,
        |r| d.rows.get(r),
        &mut [],
        false,
        d.scale(),
    )
}

fn predict<T: Real>(d: &Desc, p: &[T], x: &[T], ws: &mut [T], out: &mut [T]) {
    let front = &mut ws[..d.front_len().expect("checked")];
    forward(d, p, x, front);
    let n = d.batch * d.outputs();
    out[..n].copy_from_slice(&front[d.output_off(d.layers - 1)..][..n]);
}

fn train<T: Real>(
    d: &Desc,
    p: &[T],
    grads: &mut [T],
    x: &[T],
    y: &[T],
    ws: &mut [T],
    out: &mut [T],
) -> Totals {
    let b = d.batch;
    let (front, back) = ws.split_at_mut(d.front_len().expect("checked"));
    forward(d, p, x, front);
    let front: &[T] = front;
    let mw = b * d.max_width();
    let (mut ga, rest) = back.split_at_mut(mw);
    let mut gb = &mut rest[..mw];
    let n = d.outputs();
    let o = &front[d.output_off(d.layers - 1)..][..b * n];
    let totals = loss::run(
        d.loss,
        d.delta,
        o,
        n,
        y,
        |r| d.rows.get(r),
        &mut ga[..b * n],
        true,
        d.scale(),
    );
    for l in (0..d.layers).rev() {
        let ly = d.layer(l);
        let (o, i) = (ly.out, ly.inp);
        let sec = d.section(l);
        let h = &front[sec..sec + b * o];
        let z = if ly.act.needs_z() {
            &front[sec + b * o..sec + 2 * b * o]
        } else {
            h
        };
        let g = &mut ga[..b * o];
        let drop = d.drops(l).then_some((l as u32, ly.dropout));
        grad_pass(ly.act, g, h, z, o, d.seed, drop, &mut grads[ly.b..ly.b + o]);
        let g: &[T] = g;
        let a = if l == 0 {
            d.input(x, front)
        } else {
            &front[d.output_off(l - 1)..][..b * i]
        };
        mm::gtx(&mut grads[ly.w..ly.w + o * i], g, a, b, i, o);
        let w = &p[ly.w..ly.w + o * i];
        if l > 0 {
            mm::gw(&mut gb[..b * i], g, w, b, i, o);
            std::mem::swap(&mut ga, &mut gb);
        } else if d.grad_x {
            mm::gw(&mut out[..b * i], g, w, b, i, o);
        }
    }
    totals
}

/// In place over the gradient block `g` (`rows × width`) of a layer's output: the dropout mask
/// (`drop` = (layer, p)), the activation's derivative, and the bias gradient `db` (column sums,
/// in f64 in row order, rounded once).
#[allow(clippy::too_many_arguments)]
fn grad_pass<T: Real>(
    act: Act,
    g: &mut [T],
    h: &[T],
    z: &[T],
    width: usize,
    seed: u32,
    drop: Option<(u32, f64)>,
    db: &mut [T],
) {
    macro_rules! go {
        ($a:expr) => {
            match drop {
                None => {
                    grad_cols::<T, false>(g, h, z, width, (seed, 0, 0, T::ONE), db, |v, h, z| {
                        act::backward($a, v, h, z)
                    })
                }
                Some((layer, p)) => grad_cols::<T, true>(
                    g,
                    h,
                    z,
                    width,
                    (seed, layer, dropout::threshold(p), T::of(1.0 / (1.0 - p))),
                    db,
                    |v, h, z| act::backward($a, v, h, z),
                ),
            }
        };
    }
    match act {
        Act::Identity => go!(Act::Identity),
        Act::Relu => go!(Act::Relu),
        Act::LeakyRelu => go!(Act::LeakyRelu),
        Act::Tanh => go!(Act::Tanh),
        Act::Sigmoid => go!(Act::Sigmoid),
        Act::Gelu => go!(Act::Gelu),
    }
}

#[inline(always)]
fn grad_cols<T: Real, const DROP: bool>(
    g: &mut [T],
    h: &[T],
    z: &[T],
    width: usize,
    (seed, layer, th, scale): (u32, u32, u32, T),
    db: &mut [T],
    f: impl Fn(T, T, T) -> T,
) {
    let rows = g.len() / width;
    let mut c0 = 0;
    while c0 < width {
        let c1 = (c0 + COLS).min(width);
        let mut acc = [0.0f64; COLS];
        for r in 0..rows {
            let base = r * width;
            let key = if DROP {
                dropout::row_key(seed, layer, r as u32)
            } else {
                0
            };
            let gr = &mut g[base + c0..base + c1];
            let hr = &h[base + c0..base + c1];
            let zr = &z[base + c0..base + c1];
            for (k, ((gv, &hv), &zv)) in gr.iter_mut().zip(hr).zip(zr).enumerate() {
                let mut v = *gv;
                if DROP {
                    v = if dropout::keep(key, (c0 + k) as u32, th) {
                        v * scale
                    } else {
                        T::ZERO
                    };
                }
                v = f(v, hv, zv);
                *gv = v;
                acc[k] = acc[k] + v.f64();
            }
        }
        for (dv, &a) in db[c0..c1].iter_mut().zip(&acc) {
            *dv = T::of(a);
        }
        c0 = c1;
    }
}
