//! Regenerates include/at_tracker.h from src/ffi/ with the pinned cbindgen.
//! Run: cargo run --example gen_header

fn main() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("header generation")
        .write_to_file(format!("{dir}/include/at_tracker.h"));
    println!("wrote include/at_tracker.h");
}
