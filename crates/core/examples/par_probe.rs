//! Where threads pay: one optimizer step (or a vector op) over `n` f32 elements through
//! `ops::call`, on one thread (the table's thread flag off) and on the pool (flag on), in
//! interleaved rounds, medians reported. Used to set the thresholds of `par.rs`:
//!
//! `cargo run --release --example par_probe --features threads [KERNELS] [SIZES] [ROUNDS]`
//!
//! KERNELS is a comma list of optimizer names (`Adam`, `SGD` = SGD with momentum 0.9, ...,
//! default options), `clip` (clip by L2 norm) or `lerp` (an EMA update); SIZES a comma list.

use std::time::Instant;

use downhill_core::spec::Default as Dflt;
use downhill_core::{call, ops, ENTRIES};

fn bytes(v: &mut [f32]) -> &mut [u8] {
    bytemuck::cast_slice_mut(v)
}

struct Case {
    name: String,
    n: usize,
    p: Vec<f32>,
    g: Vec<f32>,
    s: Vec<f32>,
    scratch: Vec<f32>,
    table: Vec<f64>,
    step: u64,
}

impl Case {
    fn new(name: &str, n: usize) -> Case {
        let mut seed = 7u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        };
        let p: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let g: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let mut c = Case {
            name: name.to_owned(),
            n,
            p,
            g,
            s: vec![0.0; n],
            scratch: vec![],
            table: vec![],
            step: 0,
        };
        if let Some(e) = ENTRIES
            .iter()
            .find(|e| e.spec.name.eq_ignore_ascii_case(name))
        {
            let spec = e.spec;
            let mut t = vec![spec.id as f64, 1.0, 1.0, 0.0];
            for h in spec.hparams {
                t.push(match h.default {
                    Dflt::Value(v) => v,
                    Dflt::Null => f64::NAN,
                });
            }
            if spec.name == "SGD" {
                let k = spec.hparams.iter().position(|h| h.name == "momentum");
                t[4 + k.expect("SGD has momentum")] = 0.9;
            }
            t.extend_from_slice(&[0.0, n as f64, 1.0, 1.0, 1.0, n as f64, 0.0, 1.0, 0.0]);
            let mut info = t.clone();
            info.extend_from_slice(&[0.0, 0.0]);
            let mut pp = c.p.clone();
            call(
                ops::STEP_INFO,
                0,
                &mut info,
                [bytes(&mut pp), &mut [], &mut [], &mut [], &mut [], &mut []],
            )
            .expect("step info");
            let k = info.len();
            c.s = vec![0.0; info[k - 2] as usize];
            c.scratch = vec![0.0; info[k - 1] as usize];
            c.table = t;
        }
        c
    }

    fn run(&mut self, threads: bool) {
        if !self.table.is_empty() {
            self.step += 1;
            let k = self.table.len();
            self.table[k - 2] = self.step as f64;
            self.table[3] = if threads { 1.0 } else { 0.0 };
            let r = call(
                ops::STEP,
                0,
                &mut self.table,
                [
                    bytes(&mut self.p),
                    bytes(&mut self.g),
                    bytes(&mut self.s),
                    bytes(&mut self.scratch),
                    &mut [],
                    &mut [],
                ],
            );
            r.expect("step");
            return;
        }
        // Vector ops always may use threads; the one-thread figure comes from RAYON_NUM_THREADS=1.
        let n = self.n as f64;
        match self.name.as_str() {
            "clip" => {
                let mut args = [1.0, 0.0, 0.0, 0.0, n, 1e30, 2.0, 0.0, 0.0, 0.0];
                call(
                    ops::CLIP_NORM,
                    0,
                    &mut args,
                    [
                        bytes(&mut self.g),
                        &mut [],
                        &mut [],
                        &mut [],
                        &mut [],
                        &mut [],
                    ],
                )
                .expect("clip");
            }
            "lerp" => {
                let mut args = [1.0, 0.0, 0.0, 0.0, n, 0.001];
                call(
                    ops::LERP,
                    0,
                    &mut args,
                    [
                        bytes(&mut self.s),
                        bytes(&mut self.p),
                        &mut [],
                        &mut [],
                        &mut [],
                        &mut [],
                    ],
                )
                .expect("lerp");
            }
            k => panic!("unknown kernel {k}"),
        }
    }

    /// ns per element of a batch of `reps` calls.
    fn time(&mut self, threads: bool, reps: usize) -> f64 {
        let t0 = Instant::now();
        for _ in 0..reps {
            self.run(threads);
        }
        t0.elapsed().as_nanos() as f64 / (reps * self.n) as f64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kernels = args.get(1).map_or("Adam,SGD", |s| s.as_str());
    let sizes = args
        .get(2)
        .map_or("10000,30000,100000,300000,1000000,10000000", |s| s.as_str());
    let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(9);
    println!("threads {}", downhill_core::threads());
    println!("kernel         n   1t ns/el  pool ns/el  1t/pool");
    for k in kernels.split(',') {
        for n in sizes.split(',') {
            let n: usize = n.parse::<f64>().expect("size") as usize;
            let mut c = Case::new(k, n);
            // Batches of about 20 ms.
            let mut reps = 1;
            loop {
                let dt = c.time(false, reps) * (reps * n) as f64;
                if dt > 20e6 {
                    break;
                }
                reps *= 2;
            }
            let (mut one, mut two) = (vec![], vec![]);
            for _ in 0..rounds {
                one.push(c.time(false, reps));
                two.push(c.time(true, reps));
            }
            let (a, b) = (median(one), median(two));
            println!("{k:<8} {n:>9} {a:>10.4} {b:>11.4} {:>8.2}", a / b);
        }
    }
}
