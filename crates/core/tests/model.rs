//! The model ops against central finite differences (f64), and their argument checks.

mod common;

use common::Gen;
use downhill_core::{call, ops};

/// A dense model laid out back to back: layer i's weight then its bias.
struct Net {
    inputs: usize,
    /// (out, activation code, dropout)
    layers: Vec<(usize, f64, f64)>,
    loss: f64,
    reduction: f64,
    delta: f64,
}

impl Net {
    fn params_len(&self) -> usize {
        let mut n = 0;
        let mut inp = self.inputs;
        for &(o, _, _) in &self.layers {
            n += o * inp + o;
            inp = o;
        }
        n
    }
    fn outputs(&self) -> usize {
        self.layers.last().unwrap().0
    }
    /// Header and layer table.
    fn head(&self, seed: u32, flags: u32, mode: u32, batch: usize) -> Vec<f64> {
        let mut a = vec![
            self.layers.len() as f64,
            self.inputs as f64,
            self.loss,
            self.reduction,
            self.delta,
            seed as f64,
            flags as f64,
            mode as f64,
            batch as f64,
        ];
        let mut off = 0;
        let mut inp = self.inputs;
        for &(o, act, p) in &self.layers {
            a.extend_from_slice(&[o as f64, act, p, off as f64, (off + o * inp) as f64]);
            off += o * inp + o;
            inp = o;
        }
        a
    }
    fn workspace(&self, batch: usize) -> usize {
        let mut a = self.head(0, 0, 0, batch);
        a.push(0.0);
        call(ops::MODEL_INFO, 1, &mut a, empty()).unwrap();
        a[a.len() - 1] as usize
    }
}

fn empty() -> [&'static mut [u8]; 6] {
    [&mut [], &mut [], &mut [], &mut [], &mut [], &mut []]
}

fn bytes(v: &mut [f64]) -> &mut [u8] {
    bytemuck::cast_slice_mut(v)
}

/// Loss, grads and grad_x of the whole of `x` (rows as a range) with dropout seed `seed`.
fn train(
    net: &Net,
    p: &[f64],
    x: &[f64],
    y: &[f64],
    seed: Option<u32>,
) -> (f64, Vec<f64>, Vec<f64>) {
    let rows = x.len() / net.inputs;
    let flags = 2 | seed.is_some() as u32;
    let mut a = net.head(seed.unwrap_or(0), flags, 1, rows);
    a.extend_from_slice(&[0.0, 0.0, 0.0, 0.0]);
    let (mut p, mut x, mut y) = (p.to_vec(), x.to_vec(), y.to_vec());
    let mut g = vec![0.0; p.len()];
    let mut ws = vec![0.0; net.workspace(rows)];
    let mut gx = vec![0.0; x.len()];
    call(
        ops::MODEL_TRAIN,
        1,
        &mut a,
        [
            bytes(&mut p),
            bytes(&mut g),
            bytes(&mut x),
            bytes(&mut y),
            bytes(&mut ws),
            bytes(&mut gx),
        ],
    )
    .unwrap();
    (a[a.len() - 3], g, gx)
}

fn targets(net: &Net, rows: usize, gen: &mut Gen) -> Vec<f64> {
    let n = net.outputs();
    match net.loss as u32 {
        4 => (0..rows)
            .map(|_| {
                ((gen.next() + 1.0) * 0.5 * n as f64)
                    .floor()
                    .min(n as f64 - 1.0)
            })
            .collect(),
        3 => (0..rows * n)
            .map(|_| if gen.next() > 0.0 { 1.0 } else { 0.0 })
            .collect(),
        _ => gen.vec64(rows * n),
    }
}

/// Every analytic gradient within `tol` of the central difference (relative to the largest
/// gradient of the model, so kinks far from the sample do not matter).
fn check_fd(net: &Net, seed: u64, dropout_seed: Option<u32>) {
    let mut gen = Gen(seed);
    let rows = 5;
    let p: Vec<f64> = gen
        .vec64(net.params_len())
        .iter()
        .map(|v| v * 0.8)
        .collect();
    let x = gen.vec64(rows * net.inputs);
    let y = targets(net, rows, &mut gen);
    let (_, g, gx) = train(net, &p, &x, &y, dropout_seed);
    let h = 1e-6;
    let scale = g
        .iter()
        .chain(&gx)
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-3);
    let fd = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
    for i in 0..p.len() {
        let num = fd(&|e| {
            let mut q = p.clone();
            q[i] += e;
            train(net, &q, &x, &y, dropout_seed).0
        });
        assert!(
            (num - g[i]).abs() <= 1e-5 * scale,
            "param {i}: analytic {} vs numeric {num} (loss {}, seed {seed})",
            g[i],
            net.loss
        );
    }
    for i in 0..x.len() {
        let num = fd(&|e| {
            let mut q = x.clone();
            q[i] += e;
            train(net, &p, &q, &y, dropout_seed).0
        });
        assert!(
            (num - gx[i]).abs() <= 1e-5 * scale,
            "x {i}: analytic {} vs numeric {num}",
            gx[i]
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    let mut seed = 1;
    for act in 0..6 {
        for loss in 0..5 {
            let out = if loss == 4 { 3 } else { 2 };
            for reduction in [0.0, 1.0] {
                let net = Net {
                    inputs: 3,
                    layers: vec![(4, act as f64, 0.0), (3, act as f64, 0.0), (out, 0.0, 0.0)],
                    loss: loss as f64,
                    reduction,
                    delta: 0.6,
                };
                check_fd(&net, seed, None);
                seed += 1;
            }
        }
    }
}

#[test]
fn dropout_gradients_match_finite_differences() {
    for act in [1.0, 3.0, 5.0] {
        let net = Net {
            inputs: 4,
            layers: vec![(6, act, 0.4), (5, act, 0.25), (2, 0.0, 0.0)],
            loss: 0.0,
            reduction: 0.0,
            delta: 1.0,
        };
        check_fd(&net, 99, Some(12345));
    }
}

#[test]
fn bad_arguments_name_the_problem() {
    let net = Net {
        inputs: 2,
        layers: vec![(3, 1.0, 0.0), (2, 0.0, 0.0)],
        loss: 4.0,
        reduction: 0.0,
        delta: 1.0,
    };
    let mut p = vec![0.1; net.params_len()];
    let mut g = vec![0.0; p.len()];
    let mut x = vec![0.5; 8];
    let mut y = vec![0.0, 1.0, 2.0, 1.0];
    let mut ws = vec![0.0; net.workspace(2)];
    let mut run = |a: &mut Vec<f64>, y: &mut [f64]| {
        call(
            ops::MODEL_TRAIN,
            1,
            a,
            [
                bytes(&mut p),
                bytes(&mut g),
                bytes(&mut x),
                bytes(y),
                bytes(&mut ws),
                &mut [],
            ],
        )
    };
    let mut a = net.head(0, 0, 0, 2);
    a.extend_from_slice(&[0.0, 7.0, 0.0, 0.0, 0.0]);
    let e = run(&mut a, &mut y).unwrap_err();
    assert_eq!(e.arg, "rows[1]", "{e}");
    y[1] = 2.0;
    let mut a = net.head(0, 0, 0, 2);
    a.extend_from_slice(&[0.0, 1.0, 0.0, 0.0, 0.0]);
    let e = run(&mut a, &mut y).unwrap_err();
    assert_eq!(e.arg, "buffers[3] (y)[1]", "{e}");
    y[1] = 1.0;
    let mut a = net.head(0, 0, 0, 2);
    a.extend_from_slice(&[0.0, 1.0, 0.0, 0.0, 0.0]);
    run(&mut a, &mut y).unwrap();
    assert!(a[a.len() - 3].is_finite());
    // Equal logits: argmax is the first class, right for row 0 only.
    assert_eq!(a[a.len() - 1], 1.0);
    let mut a = net.head(0, 0, 0, 3);
    a.extend_from_slice(&[0.0, 1.0, 3.0, 0.0, 0.0, 0.0]);
    let e = run(&mut a, &mut y).unwrap_err();
    assert_eq!(e.arg, "buffers[4] (workspace)", "{e}");
    let mut a = net.head(0, 0, 0, 2);
    a[HEADER_ACT] = 9.0;
    a.extend_from_slice(&[0.0, 1.0, 0.0, 0.0, 0.0]);
    let e = run(&mut a, &mut y).unwrap_err();
    assert_eq!(e.arg, "args[10] (layers[0].activation)", "{e}");
}

const HEADER_ACT: usize = 10;

#[test]
fn results_do_not_depend_on_thread_count_or_row_mode() {
    let net = Net {
        // Large enough for gemm to split the products across threads.
        inputs: 300,
        layers: vec![(200, 1.0, 0.0), (10, 0.0, 0.0)],
        loss: 4.0,
        reduction: 0.0,
        delta: 1.0,
    };
    let mut gen = Gen(5);
    let rows = 128;
    let p = gen.vec64(net.params_len());
    let x = gen.vec64(rows * net.inputs);
    let y = targets(&net, rows, &mut gen);
    let (l1, g1, _) = train(&net, &p, &x, &y, None);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (l2, g2, _) = pool.install(|| train(&net, &p, &x, &y, None));
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
}
