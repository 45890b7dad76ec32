//! A seeded generator for tests that try random sequences: the seed is
//! printed, and setting the environment variable it names replays the run.
//! (tests/fuzz_c_abi has its own generator, with the input shapes it needs.)

use std::time::{SystemTime, UNIX_EPOCH};

/// xorshift64: reproducible sequences from a printed seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (xorshift never leaves 0, so 0 becomes 1).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 { 1 } else { seed })
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seed in the environment variable `var` (decimal or 0x-hex), else
/// `default`, else one drawn from the clock. Printed as `var=seed`, so a failing
/// run can be replayed.
pub fn seed(var: &str, default: Option<u64>) -> u64 {
    let seed = match std::env::var(var) {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{var}={s:?} is not a u64"))
        }
        Err(_) => default
            .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1),
    };
    println!("{var}={seed:#x} (set it to replay this run)");
    seed
}
