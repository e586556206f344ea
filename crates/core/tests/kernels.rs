//! The core's kernels against independent f64 references written from PyTorch's documented
//! update rules, plus identities that must hold exactly.

use downhill_core::{step, ErrorKind, KERNEL_ADAM, KERNEL_ADAMW, KERNEL_SGD, SEG_STRIDE};

/// A small deterministic generator (xorshift64*), so the tests need no crates.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        (x as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn row(len: usize, step: u64, lr: f64, wd: f64, extra: [f64; 4]) -> [f64; SEG_STRIDE] {
    [
        0.0,
        len as f64,
        step as f64,
        lr,
        wd,
        0.0,
        extra[0],
        extra[1],
        extra[2],
        extra[3],
    ]
}

fn close(got: &[f32], want: &[f64], rtol: f64) {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            err <= rtol * w.abs().max(1e-3),
            "element {i}: got {g}, want {w}"
        );
    }
}

#[test]
fn sgd_nesterov_with_weight_decay_matches_reference() {
    let n = 257;
    let mut gen = Gen(7);
    let p0 = gen.vec(n);
    let (lr, wd, mom) = (0.05, 0.01, 0.9);
    let mut p = p0.clone();
    let mut buf = vec![0.0f32; n];
    let mut rp: Vec<f64> = p0.iter().map(|&v| v as f64).collect();
    let mut rb = vec![0.0f64; n];
    for t in 1..=5u64 {
        let g = gen.vec(n);
        let r = row(n, t, lr, wd, [mom, 0.0, 1.0, 0.0]);
        step(
            KERNEL_SGD,
            &r,
            &mut p,
            &g,
            [&mut buf, &mut [], &mut []],
            false,
        )
        .unwrap();
        for i in 0..n {
            let d = g[i] as f64 + wd * rp[i];
            rb[i] = if t == 1 { d } else { mom * rb[i] + d };
            rp[i] -= lr * (d + mom * rb[i]);
        }
    }
    close(&p, &rp, 1e-5);
}

#[test]
fn adam_amsgrad_matches_reference() {
    let n = 300;
    let mut gen = Gen(11);
    let p0 = gen.vec(n);
    let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.99, 1e-8, 0.1);
    let mut p = p0.clone();
    let (mut m, mut v, mut vmax) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
    let mut rp: Vec<f64> = p0.iter().map(|&x| x as f64).collect();
    let (mut rm, mut rv, mut rvm) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
    for t in 1..=10u64 {
        let g = gen.vec(n);
        let r = row(n, t, lr, wd, [b1, b2, eps, 1.0]);
        step(
            KERNEL_ADAM,
            &r,
            &mut p,
            &g,
            [&mut m, &mut v, &mut vmax],
            false,
        )
        .unwrap();
        for i in 0..n {
            let gi = g[i] as f64 + wd * rp[i];
            rm[i] = b1 * rm[i] + (1.0 - b1) * gi;
            rv[i] = b2 * rv[i] + (1.0 - b2) * gi * gi;
            rvm[i] = rvm[i].max(rv[i]);
            let bc1 = 1.0 - b1.powi(t as i32);
            let bc2 = 1.0 - b2.powi(t as i32);
            rp[i] -= lr / bc1 * rm[i] / (rvm[i].sqrt() / bc2.sqrt() + eps);
        }
    }
    close(&p, &rp, 1e-4);
}

#[test]
fn adamw_decays_decoupled_and_equals_adam_without_decay() {
    let n = 100;
    let mut gen = Gen(3);
    let p0 = gen.vec(n);
    let g = gen.vec(n);
    let run = |kernel: u32, wd: f64| {
        let mut p = p0.clone();
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        for t in 1..=3 {
            let r = row(n, t, 0.1, wd, [0.9, 0.999, 1e-8, 0.0]);
            step(kernel, &r, &mut p, &g, [&mut m, &mut v, &mut []], false).unwrap();
        }
        p
    };
    assert_eq!(run(KERNEL_ADAMW, 0.0), run(KERNEL_ADAM, 0.0));
    // Decoupled: with a zero gradient the moments stay zero and only the decay moves p.
    let mut p = p0.clone();
    let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
    let r = row(n, 1, 0.1, 0.5, [0.9, 0.999, 1e-8, 0.0]);
    step(
        KERNEL_ADAMW,
        &r,
        &mut p,
        &vec![0.0; n],
        [&mut m, &mut v, &mut []],
        false,
    )
    .unwrap();
    let want: Vec<f64> = p0.iter().map(|&x| x as f64 * 0.95).collect();
    close(&p, &want, 1e-6);
}

#[test]
fn parallel_split_gives_the_same_bits() {
    let n = (1 << 19) + 77;
    let mut gen = Gen(5);
    let p0 = gen.vec(n);
    let g = gen.vec(n);
    let run = |parallel: bool| {
        let mut p = p0.clone();
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        let r = row(n, 4, 1e-3, 0.01, [0.9, 0.999, 1e-8, 0.0]);
        step(
            KERNEL_ADAMW,
            &r,
            &mut p,
            &g,
            [&mut m, &mut v, &mut []],
            parallel,
        )
        .unwrap();
        (p, m, v)
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn errors_name_the_argument_and_leave_buffers_untouched() {
    let mut p = vec![1.0f32; 4];
    let g = vec![1.0f32; 3];
    let e = step(
        KERNEL_SGD,
        &row(4, 1, 0.1, 0.0, [0.0; 4]),
        &mut p,
        &g,
        [&mut [], &mut [], &mut []],
        false,
    )
    .unwrap_err();
    assert_eq!((e.kind, e.arg.as_str()), (ErrorKind::Range, "grads"));

    let g = vec![1.0f32; 4];
    let mut m = vec![0.0f32; 4];
    let e = step(
        KERNEL_ADAM,
        &row(4, 1, 0.1, 0.0, [0.9, 0.999, 1e-8, 0.0]),
        &mut p,
        &g,
        [&mut m, &mut [], &mut []],
        false,
    )
    .unwrap_err();
    assert_eq!(e.arg, "state[1] (exp_avg_sq)");
    let e = step(
        KERNEL_ADAM,
        &row(4, 1, 0.1, 0.0, [1.0, 0.999, 1e-8, 0.0]),
        &mut p,
        &g,
        [&mut m, &mut [], &mut []],
        false,
    )
    .unwrap_err();
    assert_eq!(e.arg, "segments[0].beta1");
    assert_eq!(
        e.to_string(),
        "[range] segments[0].beta1: must be in [0, 1), got 1"
    );
    let e = step(9, &[], &mut p, &g, [&mut [], &mut [], &mut []], false).unwrap_err();
    assert_eq!(e.arg, "kernel");
    assert_eq!(p, vec![1.0; 4]);
    assert_eq!(m, vec![0.0; 4]);
}
