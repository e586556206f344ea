//! The core's optimizers against independent f64 references written from PyTorch's documented
//! update rules, identities that must hold exactly, and the checks of the step table.

mod common;
use common::*;
use downhill_core::ErrorKind;

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
    let p0 = gen.vec32(n);
    let (lr, wd, mom) = (0.05, 0.01, 0.9);
    let mut p = p0.clone();
    let mut rp: Vec<f64> = p0.iter().map(|&v| v as f64).collect();
    let mut rb = vec![0.0f64; n];
    let hp = vec![lr, mom, 0.0, wd, 1.0, 0.0];
    let (len, _) = info(0, &table1(0, &hp, &[n], 1, false), n).unwrap();
    assert_eq!(len, n);
    let mut buf = vec![0.0f32; len];
    for t in 1..=5u64 {
        let mut g = gen.vec32(n);
        let tb = table1(0, &hp, &[n], t, false);
        step32(&tb, &mut p, &mut g, &mut buf, &mut []).unwrap();
        for i in 0..n {
            let d = g[i] as f64 + wd * rp[i];
            rb[i] = if t == 1 { d } else { mom * rb[i] + d };
            rp[i] -= lr * (d + mom * rb[i]);
        }
    }
    close(&p, &rp, 1e-5);
}

#[test]
fn adam_amsgrad_matches_reference_in_f64() {
    let n = 300;
    let mut gen = Gen(11);
    let p0 = gen.vec64(n);
    let (lr, b1, b2, eps, wd) = (0.01, 0.8, 0.95, 1e-6, 0.02);
    let hp = vec![lr, b1, b2, eps, wd, 1.0, 0.0, 0.0];
    let mut p = p0.clone();
    let mut s = vec![0.0f64; 3 * n];
    let (mut m, mut v, mut vmax) = (vec![0.0; n], vec![0.0; n], vec![0.0f64; n]);
    let mut rp = p0.clone();
    for t in 1..=20u64 {
        let mut g = gen.vec64(n);
        let tb = table1(1, &hp, &[10, 30], t, true);
        step64(&tb, &mut p, &mut g, &mut s, &mut []).unwrap();
        for i in 0..n {
            let gi = g[i] + wd * rp[i];
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            vmax[i] = vmax[i].max(v[i]);
            let bc1 = 1.0 - b1.powi(t as i32);
            let bc2 = 1.0 - b2.powi(t as i32);
            rp[i] -= lr / bc1 * m[i] / (vmax[i].sqrt() / bc2.sqrt() + eps);
        }
    }
    for i in 0..n {
        assert!(
            (p[i] - rp[i]).abs() <= 1e-12 * rp[i].abs().max(1.0),
            "{i}: {} vs {}",
            p[i],
            rp[i]
        );
    }
    // Slot-major layout: exp_avg, then exp_avg_sq, then max_exp_avg_sq.
    for i in 0..n {
        assert!((s[i] - m[i]).abs() <= 1e-13);
        assert!((s[2 * n + i] - vmax[i]).abs() <= 1e-13);
    }
}

#[test]
fn adamw_with_zero_decay_equals_adam_bit_for_bit() {
    let n = 1000;
    let mut gen = Gen(3);
    let p0 = gen.vec32(n);
    let (mut pa, mut pw) = (p0.clone(), p0.clone());
    let (mut sa, mut sw) = (vec![0.0f32; 2 * n], vec![0.0f32; 2 * n]);
    for t in 1..=4 {
        let g = gen.vec32(n);
        let ta = table1(
            1,
            &[1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0],
            &[n],
            t,
            false,
        );
        let tw = table1(2, &[1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0], &[n], t, false);
        step32(&ta, &mut pa, &mut g.clone(), &mut sa, &mut []).unwrap();
        step32(&tw, &mut pw, &mut g.clone(), &mut sw, &mut []).unwrap();
    }
    assert_eq!(pa, pw);
}

#[test]
fn a_step_gives_the_same_bits_wherever_its_arrays_start() {
    // The element-wise driver runs the elements before the params' first cache-line boundary
    // apart. Params, grads and state at every offset within a cache line (relative to each
    // other too), on one thread and split, must give the bits of a plain in-order loop.
    let n = 70_001;
    let mut gen = Gen(11);
    let (p0, g0) = (gen.vec32(n), gen.vec32(n));
    let hp = vec![0.01, 0.9, 0.99, 1e-8, 0.1, 0.0, 0.0, 1.0];
    let t = |parallel| table1(1, &hp, &[n], 1, parallel);
    let mut want_p = p0.clone();
    let mut want_s = vec![0.0f32; 2 * n];
    step32(
        &t(false),
        &mut want_p,
        &mut g0.clone(),
        &mut want_s,
        &mut [],
    )
    .unwrap();
    for (k, parallel) in [(0, false), (1, false), (5, true), (15, true), (16, false)] {
        let (mut pb, mut gb, mut sb) = (
            vec![0.0f32; n + 32],
            vec![0.0f32; n + 32],
            vec![0.0f32; 2 * n + 32],
        );
        let (pk, gk, sk) = (k, (k + 3) % 16, (k + 7) % 16);
        pb[pk..pk + n].copy_from_slice(&p0);
        gb[gk..gk + n].copy_from_slice(&g0);
        let (p, g, s) = (
            &mut pb[pk..pk + n],
            &mut gb[gk..gk + n],
            &mut sb[sk..sk + 2 * n],
        );
        step32(&t(parallel), p, g, s, &mut []).unwrap();
        assert!(
            p.iter()
                .zip(&want_p)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "params at {k}"
        );
        assert!(
            s.iter()
                .zip(&want_s)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "state at {k}"
        );
    }
}

#[test]
fn interleaved_groups_and_steps_plan_each_tensor_as_alone() {
    // The driver reuses a plan while group and step repeat; tensors that alternate between two
    // groups and two step counts must still get their own group's and step's plan.
    let n = 40;
    let groups = [
        vec![0.01, 0.9, 0.99, 1e-8, 0.1, 0.0, 0.0, 0.0],
        vec![0.5, 0.8, 0.9, 1e-3, 0.0, 0.0, 0.0, 0.0],
    ];
    let rows: Vec<(usize, u64)> = vec![(0, 3), (0, 3), (1, 3), (1, 1), (0, 1), (0, 3)];
    let mut gen = Gen(13);
    let p0 = gen.vec32(n * rows.len());
    let g0 = gen.vec32(n * rows.len());
    let s0 = gen
        .vec32(2 * n * rows.len())
        .iter()
        .map(|x| x.abs())
        .collect::<Vec<f32>>();
    let ts: Vec<T> = rows
        .iter()
        .map(|&(group, step)| T {
            dims: vec![n],
            group,
            step,
        })
        .collect();
    let (mut p, mut st) = (p0.clone(), s0.clone());
    step32(
        &table(1, &groups, &ts, false),
        &mut p,
        &mut g0.clone(),
        &mut st,
        &mut [],
    )
    .unwrap();
    let k = rows.len() * n;
    for (j, &(group, step)) in rows.iter().enumerate() {
        let r = j * n..(j + 1) * n;
        let mut q = p0[r.clone()].to_vec();
        let mut sj = [&s0[r.clone()], &s0[k + j * n..k + (j + 1) * n]].concat();
        let one = table1(1, &groups[group], &[n], step, false);
        step32(&one, &mut q, &mut g0[r.clone()].to_vec(), &mut sj, &mut []).unwrap();
        assert!(
            q.iter()
                .zip(&p[r.clone()])
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "tensor {j}"
        );
        assert!(sj[n..]
            .iter()
            .zip(&st[k + j * n..k + (j + 1) * n])
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn merged_tensors_and_threads_give_the_same_bits_as_one_by_one() {
    // Three tensors in one group: the driver merges them into one loop (and splits it across
    // threads); stepping each tensor in its own table must give the same bits.
    let dims = [vec![70_000], vec![3, 5], vec![100_003]];
    let n: usize = dims.iter().map(|d| d.iter().product::<usize>()).sum();
    let mut gen = Gen(5);
    let p0 = gen.vec32(n);
    let g0 = gen.vec32(n);
    let hp = vec![0.01, 0.9, 0.99, 1e-8, 0.1, 0.0, 0.0, 1.0];
    let mut p = p0.clone();
    let mut s = vec![0.0f32; 2 * n];
    let ts: Vec<T> = dims
        .iter()
        .map(|d| T {
            dims: d.clone(),
            group: 0,
            step: 1,
        })
        .collect();
    step32(
        &table(1, std::slice::from_ref(&hp), &ts, true),
        &mut p,
        &mut g0.clone(),
        &mut s,
        &mut [],
    )
    .unwrap();
    let mut q = p0.clone();
    let mut off = 0;
    let mut sm = vec![0.0f32; 2 * n];
    for d in &dims {
        let k: usize = d.iter().product();
        let mut st = vec![0.0f32; 2 * k];
        step32(
            &table(
                1,
                std::slice::from_ref(&hp),
                &[T {
                    dims: d.clone(),
                    group: 0,
                    step: 1,
                }],
                false,
            ),
            &mut q[off..off + k],
            &mut g0[off..off + k].to_vec(),
            &mut st,
            &mut [],
        )
        .unwrap();
        sm[off..off + k].copy_from_slice(&st[..k]);
        sm[n + off..n + off + k].copy_from_slice(&st[k..]);
        off += k;
    }
    assert!(p.iter().zip(&q).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(s.iter().zip(&sm).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn bad_tables_are_rejected_by_name_and_nothing_changes() {
    let n = 8;
    let mut p = vec![1.0f32; n];
    let mut g = vec![0.5f32; n];
    let mut s = vec![0.0f32; 2 * n];
    let good = vec![1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0];
    let t = |hp: Vec<f64>| table1(1, &hp, &[n], 1, false);
    let mut bad_beta = good.clone();
    bad_beta[1] = 1.0;
    let e = step32(&t(bad_beta), &mut p, &mut g, &mut s, &mut []).unwrap_err();
    assert_eq!(
        (e.kind, e.arg.as_str(), e.message.as_str()),
        (
            ErrorKind::Range,
            "groups[0].beta1",
            "must be in [0, 1), got 1"
        )
    );
    let mut huge_lr = good.clone();
    huge_lr[0] = 1e39;
    assert_eq!(
        step32(&t(huge_lr), &mut p, &mut g, &mut s, &mut [])
            .unwrap_err()
            .arg,
        "groups[0].lr"
    );
    let e = step32(&t(good.clone()), &mut p, &mut g, &mut s[..3], &mut []).unwrap_err();
    assert_eq!(e.arg, "state");
    let mut tb = t(good.clone());
    let step_col = tb.len() - 2;
    tb[step_col] = 0.0; // step 0
    assert_eq!(
        step32(&tb, &mut p, &mut g, &mut s, &mut [])
            .unwrap_err()
            .arg,
        "tensors[0].step"
    );
    let mut tb = t(good.clone());
    tb[0] = 99.0;
    assert_eq!(
        step32(&tb, &mut p, &mut g, &mut s, &mut [])
            .unwrap_err()
            .arg,
        "args[0] (spec id)"
    );
    assert!(p.iter().all(|&x| x == 1.0) && s.iter().all(|&x| x == 0.0));
    // SGD's cross-field rule.
    let e = step32(
        &table1(0, &[0.1, 0.0, 0.0, 0.0, 1.0, 0.0], &[n], 1, false),
        &mut p,
        &mut g,
        &mut [],
        &mut [],
    )
    .unwrap_err();
    assert_eq!(
        (e.arg.as_str(), e.message.as_str()),
        ("groups[0].nesterov", "requires momentum > 0")
    );
}
