/*
 * Exact-IEEE C references for the downhill benchmark: one optimizer step (or vector op) over n
 * float32 elements with the same element math, in the same order, as the Rust core's kernels
 * (crates/core/src/optim/<name>.rs `kernel`, crates/core/src/ops.rs), and two memory-bandwidth
 * probes. Built and driven by bench/run.mjs:
 *
 *   gcc -O3 -march=native -fno-math-errno -ffp-contract=off            kernels.c -o kernels -lm
 *   gcc -O3 -march=native -fno-math-errno -ffp-contract=off -fopenmp   kernels.c -o kernels_omp -lm
 *
 * No -ffast-math: every operation rounds as IEEE single precision, like the core (no
 * reassociation, no reciprocal approximations); -ffp-contract=off stops GCC fusing a*b+c into an
 * FMA (GNU C allows that by default), which the core never does. -march=native lets GCC use
 * whatever this CPU has (AVX-512 included), while the portable addon picks SSE2/AVX2 at run time.
 *
 * With OpenMP a loop of n >= MIN_PAR elements (default 4096, `-p N` to change) runs on the
 * requested number of threads, each taking one contiguous piece on a 64-element boundary; below
 * it, or without OpenMP, on the calling thread.
 *
 * Two ways to run it:
 *   kernels KERNEL N [THREADS]      one measurement: the median of 7 batches of >= 20 ms, printed
 *                                   as "<kernel> <n> <threads> <ns per element>"
 *   kernels --serve                 line protocol on stdin/stdout, so a driver can interleave
 *                                   rounds with other backends while the data stays allocated
 *                                   (it prints "ready" first):
 *       setup KERNEL N THREADS  ->  ok T          (allocates, fills, runs a warm-up; T: the
 *                                                  threads the loop runs on)
 *       time MS                 ->  <ns/element>  (one batch of steps lasting >= MS ms)
 *       quit
 *
 * Kernels: sgd, sgd_momentum, adam, adamw, adagrad, rmsprop, adadelta, adamax, nadam, radam,
 * adabelief, adabound, lion (each with the core's default options; sgd_momentum: momentum 0.9),
 * clip_norm (the L2 norm in the core's fixed blocked order, in f64, then the scale pass), ema (one
 * EMA update, the core's LERP), and the memory probes sum (read n floats), scale (read and write
 * them in place: x <- x k) and copy (b <- a).
 */
#define _POSIX_C_SOURCE 200112L
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static long MIN_PAR = 4096;
static int THREADS = 1;

/* Per-step scalars, in f32 as the core's plans round them. Slots a..d are the state. */
typedef struct {
  float c[12];
} scalars;

typedef void (*range_fn)(long n, float *restrict p, const float *restrict g, float *restrict a,
                         float *restrict b, float *restrict c, const scalars *k);

/* ------------------------------------------------------------------ element loops */

static void k_sgd(long n, float *restrict p, const float *restrict g, float *restrict a,
                  float *restrict b, float *restrict c, const scalars *k) {
  const float sign = k->c[0], neg_lr = k->c[1];
  (void)a, (void)b, (void)c;
  for (long i = 0; i < n; i++) {
    float d = g[i] * sign;
    p[i] = p[i] + d * neg_lr;
  }
}

/* SGD, momentum running (step > 1), no weight decay, no Nesterov (sgd.rs, mode M_RUNNING). */
static void k_sgd_momentum(long n, float *restrict p, const float *restrict g, float *restrict buf,
                           float *restrict b, float *restrict c, const scalars *k) {
  const float sign = k->c[0], neg_lr = k->c[1], mom = k->c[2], omd = k->c[3];
  (void)b, (void)c;
  for (long i = 0; i < n; i++) {
    float d = g[i] * sign;
    float v = buf[i] * mom + d * omd;
    buf[i] = v;
    p[i] = p[i] + v * neg_lr;
  }
}

/* adam.rs kernel<L2, DECAY, AMS>; DECAY selects AdamW's decoupled decay. */
static inline void adam_body(long n, float *restrict p, const float *restrict g, float *restrict m,
                             float *restrict v, const scalars *k, int decay) {
  const float sign = k->c[0], dec = k->c[1], b1 = k->c[2], omb1 = k->c[3], b2 = k->c[4],
              omb2 = k->c[5], inv_bc2_sqrt = k->c[6], eps = k->c[7], neg_step = k->c[8];
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float pi = p[i];
    if (decay) pi = pi * dec;
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) * inv_bc2_sqrt + eps;
    p[i] = pi + neg_step * (mi / denom);
  }
}

static void k_adam(long n, float *restrict p, const float *restrict g, float *restrict a,
                   float *restrict b, float *restrict c, const scalars *k) {
  (void)c;
  adam_body(n, p, g, a, b, k, 0);
}

static void k_adamw(long n, float *restrict p, const float *restrict g, float *restrict a,
                    float *restrict b, float *restrict c, const scalars *k) {
  (void)c;
  adam_body(n, p, g, a, b, k, 1);
}

static void k_adagrad(long n, float *restrict p, const float *restrict g, float *restrict sum,
                      float *restrict b, float *restrict c, const scalars *k) {
  const float sign = k->c[0], eps = k->c[1], neg_clr = k->c[2];
  (void)b, (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float s = sum[i] + gi * gi;
    sum[i] = s;
    p[i] = p[i] + neg_clr * (gi / (sqrtf(s) + eps));
  }
}

/* rmsprop.rs, default options: not centered, no momentum. */
static void k_rmsprop(long n, float *restrict p, const float *restrict g, float *restrict sq,
                      float *restrict b, float *restrict c, const scalars *k) {
  const float sign = k->c[0], alpha = k->c[1], oma = k->c[2], eps = k->c[3], neg_lr = k->c[4];
  (void)b, (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float v = sq[i] * alpha + (gi * gi) * oma;
    sq[i] = v;
    float d = sqrtf(v) + eps;
    p[i] = p[i] + neg_lr * (gi / d);
  }
}

static void k_adadelta(long n, float *restrict p, const float *restrict g, float *restrict sq,
                       float *restrict acc, float *restrict c, const scalars *k) {
  const float sign = k->c[0], rho = k->c[1], omr = k->c[2], eps = k->c[3], neg_lr = k->c[4];
  (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float v = sq[i] * rho + (gi * gi) * omr;
    sq[i] = v;
    float delta = (sqrtf(acc[i] + eps) / sqrtf(v + eps)) * gi;
    acc[i] = acc[i] * rho + (delta * delta) * omr;
    p[i] = p[i] + neg_lr * delta;
  }
}

/* max_nan(a, b) = (b > a || isnan(b)) ? b : a, then + 0 (adamax.rs). */
static void k_adamax(long n, float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict u, float *restrict c, const scalars *k) {
  const float sign = k->c[0], b1 = k->c[1], omb1 = k->c[2], b2 = k->c[3], eps = k->c[4],
              neg_clr = k->c[5];
  (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float mi = m[i] * b1 + gi * omb1;
    m[i] = mi;
    float a = u[i] * b2, bb = fabsf(gi) + eps;
    float ui = ((bb > a || bb != bb) ? bb : a) + 0.0f;
    u[i] = ui;
    p[i] = p[i] + neg_clr * (mi / ui);
  }
}

static void k_nadam(long n, float *restrict p, const float *restrict g, float *restrict m,
                    float *restrict v, float *restrict c, const scalars *k) {
  const float sign = k->c[0], b1 = k->c[1], omb1 = k->c[2], b2 = k->c[3], omb2 = k->c[4],
              inv_bc2_sqrt = k->c[5], eps = k->c[6], cg = k->c[7], cm = k->c[8];
  (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float pi = p[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m[i] = mi;
    v[i] = vi;
    float d = sqrtf(vi) * inv_bc2_sqrt + eps;
    p[i] = pi + (cg * gi + cm * mi) / d;
  }
}

/* radam.rs, the rectified phase (step >= 6 with the default betas). */
static void k_radam(long n, float *restrict p, const float *restrict g, float *restrict m,
                    float *restrict v, float *restrict c, const scalars *k) {
  const float sign = k->c[0], b1 = k->c[1], omb1 = k->c[2], b2 = k->c[3], omb2 = k->c[4],
              eps = k->c[5], neg_step = k->c[6];
  (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float pi = p[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi + neg_step * (mi / (sqrtf(vi) + eps));
  }
}

static void k_adabelief(long n, float *restrict p, const float *restrict g, float *restrict m,
                        float *restrict s, float *restrict c, const scalars *k) {
  const float b1 = k->c[0], omb1 = k->c[1], b2 = k->c[2], omb2 = k->c[3], eps_root = k->c[4],
              inv_bc2_sqrt = k->c[5], eps = k->c[6], cm = k->c[7];
  (void)c;
  for (long i = 0; i < n; i++) {
    float gi = g[i];
    float mi = m[i] * b1 + gi * omb1;
    float e = gi - mi;
    float si = (s[i] * b2 + (e * e) * omb2) + eps_root;
    m[i] = mi;
    s[i] = si;
    float denom = sqrtf(si) * inv_bc2_sqrt + eps;
    p[i] = p[i] + cm * (mi / denom);
  }
}

/* adabound.rs without L2 or AMSBound; torch.clamp keeps NaN. */
static void k_adabound(long n, float *restrict p, const float *restrict g, float *restrict m,
                       float *restrict v, float *restrict c, const scalars *k) {
  const float b1 = k->c[0], omb1 = k->c[1], b2 = k->c[2], omb2 = k->c[3], eps = k->c[4],
              step_size = k->c[5], lower = k->c[6], upper = k->c[7];
  (void)c;
  for (long i = 0; i < n; i++) {
    float pi = p[i], gi = g[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m[i] = mi;
    v[i] = vi;
    float s = step_size / (sqrtf(vi) + eps);
    s = s < lower ? lower : (s > upper ? upper : s);
    p[i] = pi - s * mi;
  }
}

/* lion.rs with decoupled decay; sign(±0) = 0·x keeps NaN and the zero. */
static void k_lion(long n, float *restrict p, const float *restrict g, float *restrict m,
                   float *restrict b, float *restrict c, const scalars *k) {
  const float neg_lr = k->c[0], wd = k->c[1], b1 = k->c[2], omb1 = k->c[3], b2 = k->c[4],
              omb2 = k->c[5];
  (void)b, (void)c;
  for (long i = 0; i < n; i++) {
    float ci = m[i] * b1 + g[i] * omb1;
    float u = ci > 0.0f ? 1.0f : (ci < 0.0f ? -1.0f : ci * 0.0f);
    u = u + wd * p[i];
    p[i] = p[i] + neg_lr * u;
    m[i] = m[i] * b2 + g[i] * omb2;
  }
}

/* ops.rs LERP: a <- a + w (b - a), the EMA update (a: the average, here `p`; b: the params). */
static void k_ema(long n, float *restrict avg, const float *restrict x, float *restrict a,
                  float *restrict b, float *restrict c, const scalars *k) {
  const float w = k->c[0];
  (void)a, (void)b, (void)c;
  for (long i = 0; i < n; i++) avg[i] = avg[i] + w * (x[i] - avg[i]);
}

/* The scale pass of clip-by-norm: x <- x k. */
static void k_scale(long n, float *restrict x, const float *restrict g, float *restrict a,
                    float *restrict b, float *restrict c, const scalars *k) {
  const float s = k->c[0];
  (void)g, (void)a, (void)b, (void)c;
  for (long i = 0; i < n; i++) x[i] = x[i] * s;
}

static void k_copy(long n, float *restrict dst, const float *restrict src, float *restrict a,
                   float *restrict b, float *restrict c, const scalars *k) {
  (void)a, (void)b, (void)c, (void)k;
  for (long i = 0; i < n; i++) dst[i] = src[i];
}

/* ------------------------------------------------------------------ splitting */

/* One contiguous piece per thread, boundaries on 64 elements (as the core cuts its pieces). */
static void run_split(range_fn f, long n, float *p, const float *g, float *a, float *b, float *c,
                      const scalars *k) {
#ifdef _OPENMP
  if (THREADS > 1 && n >= MIN_PAR) {
#pragma omp parallel num_threads(THREADS)
    {
      long nt = omp_get_num_threads(), t = omp_get_thread_num();
      long lo = (n * t / nt) & ~63L, hi = t + 1 == nt ? n : (n * (t + 1) / nt) & ~63L;
      if (hi > lo)
        f(hi - lo, p + lo, g + lo, a ? a + lo : 0, b ? b + lo : 0, c ? c + lo : 0, k);
    }
    return;
  }
#endif
  f(n, p, g, a, b, c, k);
}

/* The core's reduction blocks (par.rs): length max(4096, ceil(n / 1024) rounded up to 64);
 * each block sums x^2 in f64 in 8 interleaved lanes combined by a fixed tree; blocks add in
 * order. */
#define LANES 8
#define MAX_BLOCKS 1024
static long block_len(long n) {
  long per = ((n + MAX_BLOCKS - 1) / MAX_BLOCKS + 63) / 64 * 64;
  return per > 4096 ? per : 4096;
}

static double block_squares(const float *restrict x, long n) {
  double acc[LANES] = {0};
  long whole = n - n % LANES;
  for (long i = 0; i < whole; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] = acc[l] + (double)x[i + l] * (double)x[i + l];
  for (long i = whole; i < n; i++) acc[i - whole] = acc[i - whole] + (double)x[i] * (double)x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double norm2(const float *x, long n) {
  static double parts[MAX_BLOCKS];
  long b = block_len(n), blocks = (n + b - 1) / b;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(THREADS) if (THREADS > 1 && n >= MIN_PAR)
#endif
  for (long j = 0; j < blocks; j++) {
    long lo = j * b, hi = lo + b < n ? lo + b : n;
    parts[j] = block_squares(x + lo, hi - lo);
  }
  double s = 0;
  for (long j = 0; j < blocks; j++) s = s + parts[j];
  return sqrt(s);
}

/* Read-only probe: a plain f32 sum in 128 lanes (8 vector chains) GCC vectorises (exactness is not the point). */
static volatile float sink;
static float sum_range(const float *restrict x, long n) {
  float acc[128] = {0};
  long whole = n - n % 128;
  for (long i = 0; i < whole; i += 128)
    for (int l = 0; l < 128; l++) acc[l] += x[i + l];
  float s = 0;
  for (long i = whole; i < n; i++) s += x[i];
  for (int l = 0; l < 128; l++) s += acc[l];
  return s;
}

static void probe_sum(const float *x, long n) {
#ifdef _OPENMP
  if (THREADS > 1 && n >= MIN_PAR) {
    float s = 0;
#pragma omp parallel num_threads(THREADS) reduction(+ : s)
    {
      long nt = omp_get_num_threads(), t = omp_get_thread_num();
      long lo = (n * t / nt) & ~63L, hi = t + 1 == nt ? n : (n * (t + 1) / nt) & ~63L;
      s += sum_range(x + lo, hi - lo);
    }
    sink = s;
    return;
  }
#endif
  sink = sum_range(x, n);
}

/* ------------------------------------------------------------------ cases */

typedef struct {
  const char *name;
  range_fn f;
  int slots;
} kernel_info;

static const kernel_info KERNELS[] = {
    {"sgd", k_sgd, 0},           {"sgd_momentum", k_sgd_momentum, 1},
    {"adam", k_adam, 2},         {"adamw", k_adamw, 2},
    {"adagrad", k_adagrad, 1},   {"rmsprop", k_rmsprop, 1},
    {"adadelta", k_adadelta, 2}, {"adamax", k_adamax, 2},
    {"nadam", k_nadam, 2},       {"radam", k_radam, 2},
    {"adabelief", k_adabelief, 2}, {"adabound", k_adabound, 2},
    {"lion", k_lion, 1},         {"ema", k_ema, 0},
    {"clip_norm", k_scale, 0},   {"copy", k_copy, 0},
    {"sum", 0, 0},               {"scale", k_scale, 0},
};

static const kernel_info *kernel = 0;
static long N = 0;
static float *P, *G, *S0, *S1;
static long step_no = 0;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static unsigned rng_state = 2463534242u;
static float urand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)((rng_state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Memory of the same kind as the addon's buffers (ts/backend/native.ts views each from a cache
 * line, and crates/napi/src/lib.rs `align` asks for transparent huge pages on the whole 2 MiB
 * pages inside a buffer of 4 MiB or more): a cache line, and from 2 MiB up a 2 MiB boundary with
 * huge pages asked for before the first touch. */
#define HUGE_BYTES ((size_t)2 << 20)
static float *alloc_floats(long n) {
  void *ptr = NULL;
  size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
  int huge = bytes >= HUGE_BYTES;
  if (posix_memalign(&ptr, huge ? HUGE_BYTES : 64, bytes) != 0) {
    fprintf(stderr, "out of memory for n=%ld\n", n);
    exit(1);
  }
#ifdef MADV_HUGEPAGE
  if (huge) madvise(ptr, bytes - bytes % HUGE_BYTES, MADV_HUGEPAGE);
#endif
  return (float *)ptr;
}

/* The scalars a plan would compute for step t with the default options (lr 1e-3, betas
 * (0.9, 0.999), ...), in double and rounded once; volatile so GCC cannot fold them into the
 * loops. */
static volatile double LR_ONE = 1.0;
static volatile double LR = 1e-3, B1 = 0.9, B2 = 0.999, EPS = 1e-8;
static scalars plan(long t) {
  scalars k;
  memset(&k, 0, sizeof k);
  const double lr = LR, b1 = B1, b2 = B2, eps = EPS;
  const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
  const char *nm = kernel->name;
  if (!strcmp(nm, "sgd")) {
    k.c[0] = 1.0f, k.c[1] = (float)-lr;
  } else if (!strcmp(nm, "sgd_momentum")) {
    k.c[0] = 1.0f, k.c[1] = (float)-lr, k.c[2] = 0.9f, k.c[3] = 1.0f;
  } else if (!strcmp(nm, "adam") || !strcmp(nm, "adamw")) {
    float c[] = {1.0f, (float)(1.0 - lr * 1e-2), (float)b1, (float)(1.0 - b1), (float)b2,
                 (float)(1.0 - b2), (float)(1.0 / sqrt(bc2)), (float)eps, (float)(-(lr / bc1))};
    memcpy(k.c, c, sizeof c);
  } else if (!strcmp(nm, "adagrad")) {
    k.c[0] = 1.0f, k.c[1] = 1e-10f, k.c[2] = -1e-2f;
  } else if (!strcmp(nm, "rmsprop")) {
    k.c[0] = 1.0f, k.c[1] = 0.99f, k.c[2] = (float)(1.0 - 0.99), k.c[3] = (float)eps,
    k.c[4] = -1e-2f;
  } else if (!strcmp(nm, "adadelta")) {
    k.c[0] = 1.0f, k.c[1] = 0.9f, k.c[2] = (float)(1.0 - 0.9), k.c[3] = 1e-6f, k.c[4] = -1.0f;
  } else if (!strcmp(nm, "adamax")) {
    k.c[0] = 1.0f, k.c[1] = (float)b1, k.c[2] = (float)(1.0 - b1), k.c[3] = (float)b2,
    k.c[4] = (float)eps, k.c[5] = (float)(-2e-3 / bc1);
  } else if (!strcmp(nm, "nadam")) {
    k.c[0] = 1.0f, k.c[1] = (float)b1, k.c[2] = (float)(1.0 - b1), k.c[3] = (float)b2,
    k.c[4] = (float)(1.0 - b2), k.c[5] = (float)(1.0 / sqrt(bc2)), k.c[6] = (float)eps,
    k.c[7] = (float)(-2e-3 * 0.1 / bc1), k.c[8] = (float)(-2e-3 * 0.9 / bc1);
  } else if (!strcmp(nm, "radam")) {
    k.c[0] = 1.0f, k.c[1] = (float)b1, k.c[2] = (float)(1.0 - b1), k.c[3] = (float)b2,
    k.c[4] = (float)(1.0 - b2), k.c[5] = (float)eps, k.c[6] = (float)(-lr / bc1 * 0.5);
  } else if (!strcmp(nm, "adabelief")) {
    k.c[0] = (float)b1, k.c[1] = (float)(1.0 - b1), k.c[2] = (float)b2, k.c[3] = (float)(1.0 - b2),
    k.c[4] = 1e-16f, k.c[5] = (float)(1.0 / sqrt(bc2)), k.c[6] = 1e-16f,
    k.c[7] = (float)(-lr / bc1);
  } else if (!strcmp(nm, "adabound")) {
    k.c[0] = (float)b1, k.c[1] = (float)(1.0 - b1), k.c[2] = (float)b2, k.c[3] = (float)(1.0 - b2),
    k.c[4] = (float)eps, k.c[5] = (float)(lr * sqrt(bc2) / bc1),
    k.c[6] = (float)(0.1 * (1.0 - 1.0 / (1e-3 * t + 1.0))),
    k.c[7] = (float)(0.1 * (1.0 + 1.0 / (1e-3 * t)));
  } else if (!strcmp(nm, "lion")) {
    k.c[0] = -1e-4f, k.c[1] = 1e-3f, k.c[2] = 0.9f, k.c[3] = (float)(1.0 - 0.9), k.c[4] = 0.99f,
    k.c[5] = (float)(1.0 - 0.99);
  } else if (!strcmp(nm, "ema")) {
    k.c[0] = (float)(1.0 - 0.999);
  }
  return k;
}

static void one_step(void) {
  step_no++;
  const char *nm = kernel->name;
  if (!strcmp(nm, "sum")) {
    probe_sum(G, N);
  } else if (!strcmp(nm, "clip_norm")) {
    /* max_norm far below the norm, as the benchmark's native case: every call scales. The
     * coefficient is min(1, max / (norm + 1e-6)) in f64, rounded once (ops.rs). */
    double total = norm2(G, N);
    double c = 1e30 / (total + 1e-6);
    scalars k;
    k.c[0] = (float)(c > 1.0 ? 1.0 : c);
    run_split(k_scale, N, G, 0, 0, 0, 0, &k);
  } else if (!strcmp(nm, "scale")) {
    scalars k;
    k.c[0] = (float)LR_ONE;
    run_split(k_scale, N, G, 0, 0, 0, 0, &k);
  } else if (!strcmp(nm, "copy")) {
    run_split(k_copy, N, S0, G, 0, 0, 0, 0);
  } else if (!strcmp(nm, "ema")) {
    scalars k = plan(step_no);
    run_split(k_ema, N, S0, P, 0, 0, 0, &k);
  } else {
    scalars k = plan(step_no);
    run_split(kernel->f, N, P, G, S0, S1, 0, &k);
  }
}

static int setup(const char *name, long n, int threads) {
  kernel = 0;
  for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++)
    if (!strcmp(KERNELS[i].name, name)) kernel = &KERNELS[i];
  if (!kernel) {
    fprintf(stderr, "unknown kernel %s\n", name);
    return 0;
  }
  if (n < 1 || threads < 1) {
    fprintf(stderr, "bad n or threads\n");
    return 0;
  }
  free(P), free(G), free(S0), free(S1);
  N = n;
  THREADS = threads;
  P = alloc_floats(n), G = alloc_floats(n), S0 = alloc_floats(n), S1 = alloc_floats(n);
  /* First touch on the threads that will use the memory, as the steps split it. */
  for (long i = 0; i < n; i++) {
    P[i] = urand();
    G[i] = urand();
    S0[i] = 0.0f;
    S1[i] = 0.0f;
  }
  if (!strcmp(name, "adagrad") || !strcmp(name, "adamax")) {
    for (long i = 0; i < n; i++) S1[i] = 0.0f, S0[i] = 0.0f;
  }
  step_no = 0;
  for (int w = 0; w < 3; w++) one_step();
  return 1;
}

static long reps = 0;

/* ns per element of one batch of >= ms milliseconds (the first call sizes the batch). */
static double time_batch(double ms) {
  if (reps == 0) {
    reps = 1;
    for (;;) {
      double t0 = now_ns();
      for (long r = 0; r < reps; r++) one_step();
      double dt = now_ns() - t0;
      if (dt >= ms * 1e6 || reps >= (1L << 24)) break;
      long next = (long)(reps * (ms * 1.2e6 / (dt > 1.0 ? dt : 1.0)));
      reps = next > reps * 2 ? next : reps * 2;
    }
  }
  double t0 = now_ns();
  for (long r = 0; r < reps; r++) one_step();
  return (now_ns() - t0) / ((double)reps * (double)N);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int argi = 1;
  if (argi + 1 < argc && !strcmp(argv[argi], "-p")) {
    MIN_PAR = atol(argv[argi + 1]);
    argi += 2;
  }
  if (argi < argc && !strcmp(argv[argi], "--serve")) {
    char line[256], name[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin)) {
      long n;
      int threads;
      double ms;
      if (sscanf(line, "setup %63s %ld %d", name, &n, &threads) == 3) {
        reps = 0;
        if (setup(name, n, threads))
          printf("ok %d\n", THREADS > 1 && n >= MIN_PAR ? THREADS : 1);
        else
          printf("skip no such kernel or size\n");
      } else if (sscanf(line, "time %lf", &ms) == 1 && kernel) {
        printf("%.6f\n", time_batch(ms));
      } else if (!strncmp(line, "quit", 4)) {
        break;
      } else {
        printf("error\n");
      }
    }
    return 0;
  }
  if (argc - argi < 2) {
    fprintf(stderr, "usage: %s [-p MIN_PAR] KERNEL N [THREADS] | --serve\n", argv[0]);
    return 2;
  }
  int threads = argc - argi > 2 ? atoi(argv[argi + 2]) : 1;
  if (!setup(argv[argi], atol(argv[argi + 1]), threads)) return 2;
  double t[7];
  for (int r = 0; r < 7; r++) t[r] = time_batch(20);
  qsort(t, 7, sizeof t[0], cmp_double);
  double checksum = 0;
  for (long i = 0; i < N; i += 4099) checksum += P[i] + G[i];
  printf("%s %ld %d %.6f\n", kernel->name, N, threads, t[3]);
  fprintf(stderr, "checksum %g steps %ld\n", checksum, step_no);
  return 0;
}
