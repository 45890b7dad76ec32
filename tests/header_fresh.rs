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

/// Every function returning `at_status` says which errors it returns: an
/// "Errors:" clause naming `AT_ERR_*` statuses, or "Errors: none" for one
/// that always returns `AT_OK`. Names must be statuses.
#[test]
fn every_function_returning_a_status_documents_its_errors() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/at_tracker.h")).unwrap();
    let statuses: Vec<String> = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define AT_ERR_"))
        .map(|rest| format!("AT_ERR_{}", rest.split_whitespace().next().unwrap()))
        .collect();
    assert!(statuses.len() >= 10, "the AT_ERR_* values were not found");
    let mut missing = Vec::new();
    let mut checked = 0;
    for item in header.split("\n\n") {
        let Some((doc, decl)) = item.rsplit_once("*/\n") else { continue };
        let Some(name) = decl.strip_prefix("at_status ").and_then(|d| d.split('(').next()) else { continue };
        checked += 1;
        let doc = doc.replace("\n *", " ");
        let Some((_, errors)) = doc.split_once("Errors:") else {
            missing.push(format!("{name}: no \"Errors:\" clause"));
            continue;
        };
        let named: Vec<&str> = errors
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("AT_ERR_"))
            .collect();
        if named.is_empty() && !errors.trim_start().starts_with("none") {
            missing.push(format!("{name}: \"Errors:\" names no AT_ERR_* (nor says \"none\")"));
        }
        for w in named {
            if !statuses.iter().any(|s| s == w) {
                missing.push(format!("{name}: {w} is not a status"));
            }
        }
    }
    assert!(checked > 60, "found only {checked} functions returning at_status");
    assert!(missing.is_empty(), "{} undocumented:\n{}", missing.len(), missing.join("\n"));
}
