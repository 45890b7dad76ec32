//! The committed header must be exactly what the pinned cbindgen generates from
//! src/ffi/, laid out by examples/header/mod.rs. Regenerate with
//! `cargo run --example gen_header`.

#[path = "../examples/header/mod.rs"]
mod header;

#[test]
fn committed_header_matches_the_generated_one() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let generated = header::generate(dir);
    let committed = std::fs::read_to_string(format!("{dir}/include/at_tracker.h")).unwrap();
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

#[test]
fn every_name_the_header_declares_is_prefixed() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/at_tracker.h")).unwrap();
    for line in header.lines() {
        let name = if let Some(rest) = line.strip_prefix("#define ") {
            rest.split_whitespace().next()
        } else if let Some(rest) = line.strip_prefix("} ").filter(|r| !r.trim_start().starts_with("//")) {
            // The name closing a `typedef struct { ... } name;`.
            Some(rest.trim_end_matches(';'))
        } else if let Some(rest) = line.strip_prefix("typedef ").filter(|r| !r.ends_with('{')) {
            match rest.split_once("(*") {
                // A function pointer: `typedef void (*name)(...)`.
                Some((_, after)) => after.split(')').next(),
                None => rest.trim_end_matches(';').rsplit([' ', '*']).next(),
            }
        } else {
            None
        };
        if let Some(name) = name.filter(|n| !n.is_empty() && !n.starts_with('(')) {
            assert!(
                name.starts_with("AT_") || name.starts_with("at_"),
                "unprefixed name in the header: {line}"
            );
        }
    }
}
