//! The thread pool of the threaded build (cargo feature `threads`, built into
//! `bindings/wasm-threads/`): rayon's global pool, whose threads are Web Workers.
//!
//! wasm32-unknown-unknown has no `std::thread::spawn`, so the pool's threads come from outside.
//! The TypeScript side (`ts/backend/wasm-threads.ts`) first starts one worker per thread; each
//! instantiates this same module on the same shared `WebAssembly.Memory` (wasm-bindgen's start
//! function gives every instance after the first its own stack and thread-local storage) and
//! calls [`pool_worker`], which waits for a thread to run. Then the loading thread calls
//! [`pool_start`]: rayon builds the pool with a spawn handler that hands each thread to a waiting
//! worker, and returns once every thread runs (rayon's `build_global` waits for that, which is
//! why the workers must be waiting first). Numbers only cross, as for every other export.
//!
//! The core's `par` module and gemm's `Parallelism::Rayon(0)` then use this pool exactly as on
//! native: the calling thread (a worker of the page that may block) hands work to the pool and
//! waits on a latch, which is why the threaded build never runs on a page's main thread.

use std::sync::{Condvar, Mutex};

use wasm_bindgen::prelude::*;

/// Threads the pool has created that no worker has taken yet.
static QUEUED: Mutex<Vec<rayon::ThreadBuilder>> = Mutex::new(Vec::new());
/// Signalled when a thread is queued.
static QUEUE_GREW: Condvar = Condvar::new();

/// Builds rayon's global pool with `threads` threads (≥ 1) and returns once each runs on a worker
/// waiting in [`pool_worker`] (so at least `threads` must be waiting, or this never returns).
/// Returns 0, or 1 with the error text in `error_ptr`/`error_len` (the pool exists already, or
/// `threads` is 0). Must run before any other call that may use the pool (`call`, `info`): rayon
/// would otherwise build its single-thread fallback pool and keep it. Blocks, so never on a page's
/// main thread.
#[wasm_bindgen]
pub fn pool_start(threads: u32) -> u32 {
    if threads == 0 {
        return super::fail("[range] threads: must be at least 1".into());
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .spawn_handler(|thread| {
            QUEUED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(thread);
            QUEUE_GREW.notify_one();
            Ok(())
        })
        .build_global();
    match built {
        Ok(()) => 0,
        Err(e) => super::fail(format!("[state] pool: {e}")),
    }
}

/// Waits for a thread of the pool and runs it on the calling worker, for as long as the pool
/// lives (i.e. never returns). The worker must be able to block: a Web Worker.
#[wasm_bindgen]
pub fn pool_worker() {
    let thread = {
        let mut queued = QUEUED.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(thread) = queued.pop() {
                break thread;
            }
            queued = QUEUE_GREW.wait(queued).unwrap_or_else(|e| e.into_inner());
        }
    };
    thread.run();
}
