//! The cost of durability itself: one `fdatasync` after a WAL-frame-sized
//! write, the floor under any call that returns only once its hit is on disk
//! (`AT_DURABILITY_ON_RETURN` with `AT_SYNCHRONOUS_FULL`).

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

/// A WAL frame: a 24-byte header and one 4 KiB page.
const FRAME: usize = 4096 + 24;
/// The write-ahead log's bound (`WAL_LIMIT_BYTES` in src/store/writer.rs).
const WAL_BYTES: usize = 4 << 20;

/// Latencies (nanoseconds, sorted) of `n` rounds of one frame written and
/// `fdatasync`ed, in a file already as large as the WAL gets: frames are
/// written over in place from the start, as SQLite does once the log resets
/// after a checkpoint, so no round changes the file's size.
pub fn frame_sync_ns(path: &Path, n: usize) -> Vec<u64> {
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path).unwrap();
    f.write_all_at(&vec![0u8; WAL_BYTES], 0).unwrap();
    f.sync_all().unwrap();
    let frame = vec![0x5a_u8; FRAME];
    let slots = WAL_BYTES / FRAME;
    let mut out: Vec<u64> = (0..n)
        .map(|i| {
            let start = Instant::now();
            f.write_all_at(&frame, (32 + (i % slots) * FRAME) as u64).unwrap();
            f.sync_data().unwrap();
            start.elapsed().as_nanos() as u64
        })
        .collect();
    drop(f);
    let _ = std::fs::remove_file(path);
    out.sort_unstable();
    out
}
