//! The library's source builds for every platform: a `std::os::unix` or `libc`
//! use must sit inside an item gated to the platforms that have it
//! (`#[cfg(unix)]`, `#[cfg(target_vendor = "apple")]`, `#[cfg(target_os =
//! "...")]` for a Unix OS, or a file opening with such a `#![cfg(...)]`), with
//! the other platforms handled beside it (src/store/platform.rs). Scans every
//! file under src/; the scanner itself is tested on samples below.
//!
//! A real compile for Windows, where the target is installed
//! (`rustup target add x86_64-pc-windows-gnu` and the mingw-w64 C compiler
//! for the bundled SQLite):
//! `cargo check --lib --target x86_64-pc-windows-gnu --no-default-features`.

use std::path::{Path, PathBuf};

/// What may only be used on Unix-like platforms.
const UNIX_ONLY: [&str; 4] = ["std::os::unix", "libc::", "use libc", "extern crate libc"];

/// Whether a `cfg` predicate limits the item to Unix-like platforms.
fn gates_to_unix(predicate: &str) -> bool {
    let p: String = predicate.chars().filter(|c| !c.is_whitespace()).collect();
    if p.starts_with("not(") || p.starts_with("any(") && p.contains("not(") {
        return false;
    }
    let unix_os =
        ["linux", "android", "macos", "ios", "tvos", "watchos", "visionos", "freebsd", "netbsd", "openbsd"];
    let every = |clause: &str| {
        clause == "unix"
            || clause == "target_family=\"unix\""
            || clause == "target_vendor=\"apple\""
            || clause
                .strip_prefix("target_os=\"")
                .and_then(|s| s.strip_suffix('"'))
                .is_some_and(|os| unix_os.contains(&os))
    };
    if let Some(inner) = p.strip_prefix("any(").and_then(|s| s.strip_suffix(')')) {
        return inner.split(',').all(every);
    }
    if let Some(inner) = p.strip_prefix("all(").and_then(|s| s.strip_suffix(')')) {
        // all(test, unix): gated when any clause gates.
        return inner.split(',').any(every);
    }
    every(&p)
}

/// The cfg predicate of a `#[cfg(...)]` / `#![cfg(...)]` line, if it is one.
fn cfg_predicate(line: &str) -> Option<&str> {
    let t = line.trim();
    let rest = t.strip_prefix("#![cfg(").or_else(|| t.strip_prefix("#[cfg("))?;
    rest.strip_suffix(")]")
}

/// Lines (1-based) that use a Unix-only API outside a Unix-gated item.
fn ungated_uses(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut depth: i64 = 0;
    // Brace depth at which the current gated item started; inside it while
    // depth > that value (or on the item's own lines until its `{`/`;`).
    let mut gated_at: Option<i64> = None;
    let mut pending = false; // a gating attribute waits for its item
    let mut item_open = false; // the gated item's first line is seen, its `{` not yet
    let mut whole_file = false;
    for (n, raw) in source.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let trimmed = line.trim();
        if let Some(pred) = cfg_predicate(trimmed) {
            if trimmed.starts_with("#![") && depth == 0 && gates_to_unix(pred) {
                whole_file = true;
            } else if gated_at.is_none() && gates_to_unix(pred) {
                pending = true;
            }
            continue;
        }
        if pending && !trimmed.is_empty() && !trimmed.starts_with("#[") {
            pending = false;
            gated_at = Some(depth);
            item_open = true;
        }
        let inside = whole_file || gated_at.is_some();
        if !inside && UNIX_ONLY.iter().any(|u| line.contains(u)) {
            found.push((n + 1, raw.trim().to_owned()));
        }
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    item_open = false;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if let Some(start) = gated_at {
            let single_line_item = item_open && trimmed.ends_with(';');
            if single_line_item || (!item_open && depth <= start) {
                gated_at = None;
                item_open = false;
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_unix_only_api_outside_a_unix_cfg() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "src/ scanned: {} files", files.len());
    let mut report = String::new();
    for file in &files {
        for (line, text) in ungated_uses(&std::fs::read_to_string(file).unwrap()) {
            report += &format!("  {}:{line}: {text}\n", file.display());
        }
    }
    assert!(
        report.is_empty(),
        "Unix-only APIs outside a cfg(unix)/Apple item (put the platform code in \
         src/store/platform.rs or behind cfg with a Windows implementation):\n{report}"
    );
}

#[test]
fn the_scanner_finds_ungated_uses_and_accepts_gated_ones() {
    let ungated = "use std::fs;\nuse std::os::unix::fs::PermissionsExt;\nfn f() { libc::getpid(); }\n";
    assert_eq!(ungated_uses(ungated).iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![2, 3]);

    let gated_mod = "#[cfg(unix)]\nmod imp {\n    use std::os::unix::fs::MetadataExt;\n    fn g() {\n        let _ = 1;\n    }\n}\nuse std::os::unix::fs::MetadataExt;\n";
    assert_eq!(
        ungated_uses(gated_mod).iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        vec![8],
        "the use after the gated module"
    );

    let gated_use =
        "#[cfg(unix)]\nuse std::os::unix::fs::MetadataExt;\nuse std::os::unix::fs::PermissionsExt;\n";
    assert_eq!(
        ungated_uses(gated_use).iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        vec![3],
        "a gated `use` gates one line"
    );

    let apple = "#[cfg(target_vendor = \"apple\")]\nfn v() -> i32 {\n    unsafe { libc::getpid() }\n}\n";
    assert!(ungated_uses(apple).is_empty());

    let negated = "#[cfg(not(windows))]\nfn v() {\n    libc::abort();\n}\n";
    assert_eq!(ungated_uses(negated).len(), 1, "not(windows) is not unix: wasm, UEFI, ...");

    let windows = "#[cfg(windows)]\nfn v() {\n    libc::abort();\n}\n";
    assert_eq!(ungated_uses(windows).len(), 1);

    let whole_file = "#![cfg(unix)]\nuse std::os::unix::fs::MetadataExt;\n";
    assert!(ungated_uses(whole_file).is_empty());

    let nested = "#[cfg(all(test, unix))]\nmod tests {\n    #[test]\n    fn t() {\n        use std::os::unix::fs::PermissionsExt;\n    }\n}\nfn x() { libc::abort(); }\n";
    assert_eq!(ungated_uses(nested).iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![8]);

    let comment = "// std::os::unix is not used here\n";
    assert!(ungated_uses(comment).is_empty());

    assert!(gates_to_unix("any(target_os = \"linux\", target_os = \"android\")"));
    assert!(!gates_to_unix("any(target_os = \"linux\", windows)"));
    assert!(!gates_to_unix("test"));
}
