//! The machine's own floor under a call's worst latency: the longest a thread
//! that does nothing but read the clock goes without running, over as long as
//! a BATCHED run lasts. No library call can be faster than its thread is
//! scheduled; on a virtual machine the host deschedules whole virtual CPUs,
//! and with more runnable threads than cores each waits out others' slices.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest gap (microseconds) between two clock reads of a spinning
/// thread over `window`, while `busy` other threads spin on plain CPU work
/// (the store's writer and checkpoint threads, in CPU terms).
pub fn longest_gap_us(window: Duration, busy: usize) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..busy)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 1u64;
                while !stop.load(Relaxed) {
                    for _ in 0..1000 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    }
                }
                std::hint::black_box(x);
            })
        })
        .collect();
    let start = Instant::now();
    let (mut last, mut longest) = (start, Duration::ZERO);
    while last.duration_since(start) < window {
        let now = Instant::now();
        longest = longest.max(now - last);
        last = now;
    }
    stop.store(true, Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    longest.as_secs_f64() * 1e6
}
