//! The run's seed and size, and the seeded generator every input comes from.

use std::sync::OnceLock;

const DEFAULT_ITERATIONS: usize = 20_000;

/// The seed of the default run: the test suite (and CI) is reproducible.
const DEFAULT_SEED: u64 = 0x5EED_A77A_C4E5;

/// The run's seed: `ATTRACKER_FUZZ_SEED` (a number, or `random` to draw one from
/// the clock), else `DEFAULT_SEED`. Printed, so a failure can be replayed.
pub fn fuzz_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("ATTRACKER_FUZZ_SEED") {
        Err(_) => DEFAULT_SEED,
        Ok(s) if s.trim() != "random" => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse::<u64>(),
            };
            parsed.unwrap_or_else(|_| panic!("ATTRACKER_FUZZ_SEED={s:?} is not a u64"))
        }
        Ok(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            Rng(nanos ^ (u64::from(std::process::id()) << 32)).next()
        }
    })
}

pub fn fuzz_iterations() -> usize {
    match std::env::var("ATTRACKER_FUZZ_ITERATIONS") {
        Ok(s) => {
            s.trim().parse().unwrap_or_else(|_| panic!("ATTRACKER_FUZZ_ITERATIONS={s:?} is not a count"))
        }
        Err(_) => DEFAULT_ITERATIONS,
    }
}

// --- deterministic generator --------------------------------------------------

/// splitmix64: tiny, fast, and every seed (0 included) gives a good stream.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Inclusive.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    pub fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut r = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        unreachable!()
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A u32 near the interesting points: the extremes and each bound ±1.
    pub fn u32_edge(&mut self, bounds: &[u32]) -> u32 {
        const FIXED: [u32; 8] = [0, 1, 2, 3, 4, u32::MAX, u32::MAX - 1, 1 << 31];
        match self.below(4) {
            0 => self.pick(&FIXED),
            1 if !bounds.is_empty() => {
                let b = self.pick(bounds);
                match self.below(3) {
                    0 => b.wrapping_sub(1),
                    1 => b,
                    _ => b.wrapping_add(1),
                }
            }
            2 => self.next() as u32 % 1_000_000,
            _ => self.next() as u32,
        }
    }
    pub fn u64_edge(&mut self, bounds: &[u64]) -> u64 {
        const FIXED: [u64; 8] = [0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, i64::MAX as u64, u32::MAX as u64];
        match self.below(4) {
            0 => self.pick(&FIXED),
            1 if !bounds.is_empty() => {
                let b = self.pick(bounds);
                match self.below(3) {
                    0 => b.wrapping_sub(1),
                    1 => b,
                    _ => b.wrapping_add(1),
                }
            }
            2 => self.next() % 10_000_000,
            _ => self.next(),
        }
    }
}

pub fn tracker_budget() -> usize {
    fuzz_iterations() * 7 / 10
}

pub fn config_budget() -> usize {
    fuzz_iterations() - tracker_budget()
}
