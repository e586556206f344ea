//! Times one training step of the 784-256-10 MLP (ReLU, softmax cross-entropy, batch 128) in
//! the core, and the same step's GEMMs alone, so the overhead of everything else shows:
//! `cargo run --release --example mlp_step --features threads [steps]`.

use std::time::Instant;

use downhill_core::{call, ops};

fn bytes(v: &mut [f32]) -> &mut [u8] {
    bytemuck::cast_slice_mut(v)
}

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let (inp, hid, out, b, rows) = (784usize, 256usize, 10usize, 128usize, 4096usize);
    let mut seed = 1u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let np = hid * inp + hid + out * hid + out;
    let mut p: Vec<f32> = (0..np).map(|_| rnd() * 0.1).collect();
    let mut g = vec![0f32; np];
    let mut x: Vec<f32> = (0..rows * inp).map(|_| rnd() + 0.5).collect();
    let mut y: Vec<f32> = (0..rows).map(|i| (i % 10) as f32).collect();
    let head = |batch: usize| {
        vec![
            2.0,
            inp as f64,
            4.0,
            0.0,
            1.0,
            0.0,
            1.0,
            0.0,
            batch as f64,
            hid as f64,
            1.0,
            0.0,
            0.0,
            (hid * inp) as f64,
            out as f64,
            0.0,
            0.0,
            (hid * inp + hid) as f64,
            (hid * inp + hid + out * hid) as f64,
        ]
    };
    let mut info = head(b);
    info.push(0.0);
    call(
        ops::MODEL_INFO,
        0,
        &mut info,
        [&mut [], &mut [], &mut [], &mut [], &mut [], &mut []],
    )
    .unwrap();
    let mut ws = vec![0f32; info[info.len() - 1] as usize];
    let mut args = head(b);
    let at = args.len();
    args.extend(std::iter::repeat_n(0.0, b + 3));
    let mut k = 7usize;
    let mut run = |args: &mut Vec<f64>| {
        for i in 0..b {
            k = (k * 2654435761 + 12345) % rows;
            args[at + i] = k as f64;
        }
        call(
            ops::MODEL_TRAIN,
            0,
            args,
            [
                bytes(&mut p),
                bytes(&mut g),
                bytes(&mut x),
                bytes(&mut y),
                bytes(&mut ws),
                &mut [],
            ],
        )
        .unwrap();
    };
    for _ in 0..50 {
        run(&mut args);
    }
    let t = Instant::now();
    for _ in 0..steps {
        run(&mut args);
    }
    let per = t.elapsed().as_secs_f64() / steps as f64;
    let flops = 2.0 * b as f64 * (3.0 * (inp * hid + hid * out) as f64 - (inp * hid) as f64);
    println!(
        "MODEL_TRAIN: {:.3} ms/step, {:.0} samples/s, {:.1} GFLOP/s ({} threads)",
        per * 1e3,
        b as f64 / per,
        flops / per / 1e9,
        downhill_core::threads()
    );
    // The same step's five products alone (forward 2, dW 2, dH 1), on the same buffers.
    let par = if downhill_core::threads() > 1 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let h = vec![0f32; b * hid];
    let o = vec![0f32; b * out];
    let dw1 = vec![0f32; hid * inp];
    let dw2 = vec![0f32; out * hid];
    let dh = vec![0f32; b * hid];
    let (w1, w2) = p.split_at(hid * inp);
    let w2 = &w2[hid..hid + out * hid];
    let xb = &x[..b * inp];
    // SAFETY: every matrix lies inside its vector (shapes as in the model op).
    let products = || unsafe {
        let mm = |m: usize,
                  n: usize,
                  k: usize,
                  c: *mut f32,
                  a: *const f32,
                  acs: isize,
                  ars: isize,
                  bb: *const f32,
                  bcs: isize,
                  brs: isize| {
            gemm::gemm(
                m, n, k, c, 1, n as isize, false, a, acs, ars, bb, bcs, brs, 0.0, 1.0, false,
                false, false, par,
            )
        };
        mm(
            b,
            hid,
            inp,
            h.as_ptr() as *mut f32,
            xb.as_ptr(),
            1,
            inp as isize,
            w1.as_ptr(),
            inp as isize,
            1,
        );
        mm(
            b,
            out,
            hid,
            o.as_ptr() as *mut f32,
            h.as_ptr(),
            1,
            hid as isize,
            w2.as_ptr(),
            hid as isize,
            1,
        );
        mm(
            out,
            hid,
            b,
            dw2.as_ptr() as *mut f32,
            o.as_ptr(),
            out as isize,
            1,
            h.as_ptr(),
            1,
            hid as isize,
        );
        mm(
            b,
            hid,
            out,
            dh.as_ptr() as *mut f32,
            o.as_ptr(),
            1,
            out as isize,
            w2.as_ptr(),
            1,
            hid as isize,
        );
        mm(
            hid,
            inp,
            b,
            dw1.as_ptr() as *mut f32,
            dh.as_ptr(),
            hid as isize,
            1,
            xb.as_ptr(),
            1,
            inp as isize,
        );
    };
    for _ in 0..50 {
        products();
    }
    let t = Instant::now();
    for _ in 0..steps {
        products();
    }
    let per = t.elapsed().as_secs_f64() / steps as f64;
    println!(
        "the 5 GEMMs alone: {:.3} ms/step, {:.1} GFLOP/s",
        per * 1e3,
        flops / per / 1e9
    );
}
