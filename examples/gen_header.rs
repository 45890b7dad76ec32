//! Regenerates include/at_tracker.h from src/ffi/ with the pinned cbindgen, laid
//! out by object (examples/header/mod.rs).
//! Run: cargo run --example gen_header

#[path = "header/mod.rs"]
mod header;

fn main() {
    let dir = env!("CARGO_MANIFEST_DIR");
    std::fs::write(format!("{dir}/include/at_tracker.h"), header::generate(dir)).expect("write the header");
    println!("wrote include/at_tracker.h");
}
