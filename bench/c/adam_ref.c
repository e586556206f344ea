/*
 * "Optimal auto-vectorised C" reference for the downhill benchmark table: one Adam step and one
 * SGD-with-momentum step over n float32 parameters, with the same element math as the Rust core
 * (crates/core/src/optim/adam.rs, sgd.rs), timed in-process.
 *
 * Build (bench/optimizers.bench.mjs does this):
 *   gcc -O3 -march=native -fno-math-errno -ffp-contract=off adam_ref.c -o adam_ref
 *   gcc -O3 -march=native -fno-math-errno -ffp-contract=off -fopenmp adam_ref.c -o adam_ref_omp
 * No -ffast-math: results are exact IEEE single precision, like the core. -ffp-contract=off stops
 * GCC fusing a*b+c into an FMA (GNU C allows that by default), which the core never does.
 *
 * Usage: adam_ref KERNEL N [REPS]   KERNEL = adam | sgd_momentum
 * Prints one line: "<kernel> <n> <threads> <ns/param>", the best of REPS timed batches
 * (each batch at least ~20 ms). With OpenMP the loop runs on omp_get_max_threads() threads
 * (set OMP_NUM_THREADS) when n >= 2^18, the same threshold as the core's PAR_MIN_LEN;
 * below it the loop runs on one thread, as the native addon does.
 */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define PAR_MIN_LEN (1L << 18)

typedef struct {
  float sign, b1, omb1, b2, omb2, inv_bc2s, eps, neg_step;
} adam_scalars;

typedef struct {
  float sign, mom, omd, neg_lr;
} sgd_scalars;

/* The element loops, over [0, n) of already-offset pointers; `restrict` lets GCC vectorise them
 * without run-time overlap checks. */
static inline void adam_range(long n, float *restrict p, const float *restrict g, float *restrict m,
                              float *restrict v, const adam_scalars s) {
  const float sign = s.sign, b1 = s.b1, omb1 = s.omb1, b2 = s.b2, omb2 = s.omb2;
  const float inv_bc2s = s.inv_bc2s, eps = s.eps, neg_step = s.neg_step;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * sign;
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) * inv_bc2s + eps;
    p[i] = p[i] + neg_step * (mi / denom);
  }
}

static inline void sgd_momentum_range(long n, float *restrict p, const float *restrict g,
                                      float *restrict buf, const sgd_scalars s) {
  const float sign = s.sign, mom = s.mom, omd = s.omd, neg_lr = s.neg_lr;
  for (long i = 0; i < n; i++) {
    float d = g[i] * sign;
    float b = buf[i] * mom + d * omd;
    buf[i] = b;
    p[i] = p[i] + b * neg_lr;
  }
}

/* Below PAR_MIN_LEN, or without OpenMP: one plain call, no parallel region at all. Above it each
 * thread takes one contiguous chunk (multiple of 16 elements), as the core splits its pieces. */
#ifdef _OPENMP
#define SPLIT(n, CALL)                                                       \
  do {                                                                       \
    if ((n) < PAR_MIN_LEN || omp_get_max_threads() < 2) {                    \
      long lo = 0, len = (n);                                                \
      CALL;                                                                  \
    } else {                                                                 \
      _Pragma("omp parallel") {                                              \
        long nt = omp_get_num_threads(), t = omp_get_thread_num();           \
        long chunk = (((n) + nt - 1) / nt + 15) / 16 * 16;                   \
        long lo = t * chunk, hi = lo + chunk < (n) ? lo + chunk : (n);       \
        long len = hi > lo ? hi - lo : 0;                                    \
        if (len > 0) CALL;                                                   \
      }                                                                      \
    }                                                                        \
  } while (0)
#else
#define SPLIT(n, CALL)       \
  do {                       \
    long lo = 0, len = (n);  \
    CALL;                    \
  } while (0)
#endif

__attribute__((noinline)) static void adam_step(long n, float *p, const float *g, float *m,
                                                float *v, const adam_scalars s) {
  SPLIT(n, adam_range(len, p + lo, g + lo, m + lo, v + lo, s));
}

__attribute__((noinline)) static void sgd_momentum_step(long n, float *p, const float *g,
                                                        float *buf, const sgd_scalars s) {
  SPLIT(n, sgd_momentum_range(len, p + lo, g + lo, buf + lo, s));
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* xorshift32 uniform in [-1, 1). */
static unsigned rng_state = 2463534242u;
static float urand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)((rng_state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static float *alloc_floats(long n) {
  void *ptr = NULL;
  if (posix_memalign(&ptr, 64, (size_t)(n > 0 ? n : 1) * sizeof(float)) != 0) {
    fprintf(stderr, "out of memory for n=%ld\n", n);
    exit(1);
  }
  return (float *)ptr;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s adam|sgd_momentum N [REPS]\n", argv[0]);
    return 2;
  }
  const char *kernel = argv[1];
  const long n = atol(argv[2]);
  const int reps = argc > 3 ? atoi(argv[3]) : 7;
  const int is_adam = strcmp(kernel, "adam") == 0;
  if (!is_adam && strcmp(kernel, "sgd_momentum") != 0) {
    fprintf(stderr, "unknown kernel %s\n", kernel);
    return 2;
  }
  if (n < 1 || reps < 1) {
    fprintf(stderr, "bad N or REPS\n");
    return 2;
  }

  float *p = alloc_floats(n), *g = alloc_floats(n), *s0 = alloc_floats(n), *s1 = alloc_floats(n);
  for (long i = 0; i < n; i++) {
    p[i] = urand();
    g[i] = urand();
    s0[i] = 0.0f;
    s1[i] = 0.0f;
  }

  /* Scalars computed at run time (as the core's plan does, in double then narrowed), so the
   * compiler cannot specialise the loop on them. lr = 1e-3, betas (0.9, 0.999), eps 1e-8. */
  /* volatile: no constant propagation into the (noinline) kernels. */
  volatile double lr_v = 1e-3, mom_v = 0.9;
  const double lr = lr_v, b1 = 0.9, b2 = 0.999, eps = 1e-8, mom = mom_v;
  long step = 0;
  adam_scalars as;
  sgd_scalars ss = {1.0f, (float)mom, 1.0f, (float)(-lr)};

  int threads = 1;
#ifdef _OPENMP
  if (n >= PAR_MIN_LEN) threads = omp_get_max_threads();
#endif

  /* One step, recomputing the bias corrections each step as an optimizer would. */
#define ONE_STEP()                                                        \
  do {                                                                    \
    step++;                                                               \
    if (is_adam) {                                                        \
      double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step); \
      as.sign = 1.0f;                                                     \
      as.b1 = (float)b1;                                                  \
      as.omb1 = (float)(1.0 - b1);                                        \
      as.b2 = (float)b2;                                                  \
      as.omb2 = (float)(1.0 - b2);                                        \
      as.inv_bc2s = (float)(1.0 / sqrt(bc2));                             \
      as.eps = (float)eps;                                                \
      as.neg_step = (float)(-(lr / bc1));                                 \
      adam_step(n, p, g, s0, s1, as);                                     \
    } else {                                                              \
      sgd_momentum_step(n, p, g, s0, ss);                                 \
    }                                                                     \
  } while (0)

  /* Warm up (page faults, OpenMP pool) and size the batch to >= 20 ms. */
  long batch = 1;
  for (;;) {
    double t0 = now_ns();
    for (long k = 0; k < batch; k++) ONE_STEP();
    double dt = now_ns() - t0;
    if (dt >= 20e6 || batch >= (1L << 24)) break;
    long next = (long)(batch * (25e6 / (dt > 1.0 ? dt : 1.0)));
    batch = next > batch * 2 ? next : batch * 2;
    if (batch > (1L << 24)) batch = 1L << 24;
  }

  double best = 1e300;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    for (long k = 0; k < batch; k++) ONE_STEP();
    double per = (now_ns() - t0) / ((double)batch * (double)n);
    if (per < best) best = per;
  }

  /* Keep the results observable. */
  double checksum = 0;
  for (long i = 0; i < n; i += 4099) checksum += p[i];
  printf("%s %ld %d %.6f\n", kernel, n, threads, best);
  fprintf(stderr, "checksum %g steps %ld\n", checksum, step);
  free(p);
  free(g);
  free(s0);
  free(s1);
  return 0;
}
