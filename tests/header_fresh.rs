//! The committed header must be exactly what the pinned cbindgen generates from
//! src/ffi/. Regenerate with `cargo run --example gen_header`.

#[test]
fn committed_header_matches_the_generated_one() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen runs")
        .write(&mut generated);
    let committed = std::fs::read(format!("{dir}/include/at_tracker.h")).unwrap();
    assert!(
        generated == committed,
        "include/at_tracker.h is stale: run `cargo run --example gen_header` and commit it"
    );
}

#[test]
fn version_agrees_between_cargo_header_and_at_version() {
    use attracker::ffi::*;
    let v = unsafe { std::ffi::CStr::from_ptr(at_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    let macros = format!("{AT_VERSION_MAJOR}.{AT_VERSION_MINOR}.{AT_VERSION_PATCH}");
    assert_eq!(macros, env!("CARGO_PKG_VERSION"), "AT_VERSION_* in src/ffi/types.rs");
}
