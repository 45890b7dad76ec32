//! The portable Linux library (scripts/build-linux-portable.sh): it needs no
//! glibc symbol version newer than the one it was built for, no versioned
//! libcurl symbol (Debian's `CURL_OPENSSL_4`, which RHEL's libcurl lacks), and
//! no shared libcurl or OpenSSL at all.
//!
//! The portable build compiles OpenSSL and libcurl from source (minutes), so
//! it is not run here: this test checks its output when present
//! (`target/portable/<target>/release/libattracker.so`) and says it skipped
//! otherwise. The checker itself is always exercised on the ordinary debug
//! library, which links the system libcurl: with the system's libcurl it must
//! find a `CURL_OPENSSL_*` requirement, so a checker that found nothing would
//! fail here. Needs `objdump` and `readelf` (binutils); without them it skips.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a shared library requires from others.
#[derive(Debug, Default)]
struct Requirements {
    /// Versions named by its undefined dynamic symbols, e.g. `GLIBC_2.17`.
    versions: Vec<String>,
    /// Its DT_NEEDED entries.
    needed: Vec<String>,
}

impl Requirements {
    /// The highest `GLIBC_x.y[.z]` version required, as numbers.
    fn highest_glibc(&self) -> Option<Vec<u32>> {
        self.versions
            .iter()
            .filter_map(|v| v.strip_prefix("GLIBC_"))
            .filter_map(|v| v.split('.').map(|n| n.parse().ok()).collect::<Option<Vec<u32>>>())
            .max()
    }

    fn curl_versions(&self) -> Vec<&String> {
        self.versions.iter().filter(|v| v.starts_with("CURL_")).collect()
    }
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Reads `objdump -T` (undefined symbols: `*UND*`, with their version) and
/// `readelf -d` (NEEDED).
fn requirements(lib: &Path) -> Requirements {
    let dump = Command::new("objdump").arg("-T").arg(lib).output().expect("objdump runs");
    assert!(dump.status.success(), "objdump -T {}: {}", lib.display(), String::from_utf8_lossy(&dump.stderr));
    let mut r = Requirements::default();
    for line in String::from_utf8_lossy(&dump.stdout).lines() {
        // "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) malloc"
        if !line.contains("*UND*") {
            continue;
        }
        let version = line.split_whitespace().map(|f| f.trim_matches(|c| c == '(' || c == ')')).find(|f| {
            f.starts_with("GLIBC_")
                || f.starts_with("CURL_")
                || f.starts_with("OPENSSL_")
                || f.starts_with("GCC_")
        });
        if let Some(v) = version {
            if !r.versions.iter().any(|known| known == v) {
                r.versions.push(v.to_owned());
            }
        }
    }
    let elf = Command::new("readelf").arg("-d").arg(lib).output().expect("readelf runs");
    assert!(elf.status.success(), "readelf -d {}", lib.display());
    for line in String::from_utf8_lossy(&elf.stdout).lines() {
        if let Some(rest) = line.split("Shared library: [").nth(1) {
            r.needed.push(rest.trim_end_matches(']').to_owned());
        }
    }
    r
}

fn parse_version(v: &str) -> Vec<u32> {
    v.trim().split('.').map(|n| n.parse().expect("a glibc version like 2.17")).collect()
}

fn tools_or_skip() -> bool {
    if tool("objdump") && tool("readelf") {
        return true;
    }
    println!("portable_linux: skipped (objdump and readelf are needed: install binutils)");
    false
}

#[test]
fn the_checker_finds_the_system_libcurl_versions_in_the_ordinary_build() {
    if !tools_or_skip() {
        return;
    }
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/libattracker.so");
    if !lib.exists() || !cfg!(feature = "curl-transport") {
        println!(
            "portable_linux: skipped the checker's self-test ({} not built with libcurl)",
            lib.display()
        );
        return;
    }
    let r = requirements(&lib);
    assert!(r.highest_glibc().is_some(), "a glibc version is required: {r:?}");
    if !r.needed.iter().any(|n| n.starts_with("libcurl")) {
        // The last build of it was one without libcurl (--no-default-features).
        println!("portable_linux: skipped the checker's self-test ({} does not link libcurl)", lib.display());
        return;
    }
    // Debian's libcurl versions its symbols (CURL_OPENSSL_4); where a system
    // libcurl does not, there is nothing to find.
    let debian_curl = Path::new("/usr/lib/x86_64-linux-gnu/libcurl.so.4").exists()
        && String::from_utf8_lossy(
            &Command::new("objdump")
                .arg("-T")
                .arg("/usr/lib/x86_64-linux-gnu/libcurl.so.4")
                .output()
                .unwrap()
                .stdout,
        )
        .contains("CURL_OPENSSL_4");
    if debian_curl {
        assert!(
            r.curl_versions().iter().any(|v| v.starts_with("CURL_OPENSSL_")),
            "the checker sees the ordinary build's CURL_OPENSSL_* requirement: {r:?}"
        );
    }
}

#[test]
fn the_portable_library_needs_no_newer_glibc_and_no_system_curl() {
    if !tools_or_skip() {
        return;
    }
    let target =
        std::env::var("ATTRACKER_PORTABLE_TARGET").unwrap_or_else(|_| "x86_64-unknown-linux-gnu".into());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/portable").join(&target).join("release");
    let lib = dir.join("libattracker.so");
    if !lib.exists() {
        println!(
            "portable_linux: skipped ({} is not built: run bash scripts/build-linux-portable.sh, which needs \
             cargo-zigbuild and zig; it takes minutes)",
            lib.display()
        );
        return;
    }
    let asked =
        std::fs::read_to_string(dir.join("portable-glibc")).expect("the script records the glibc asked for");
    let features = std::fs::read_to_string(dir.join("portable-features")).unwrap_or_default();
    let r = requirements(&lib);
    let highest = r.highest_glibc().expect("a glibc version is required");
    assert!(
        highest <= parse_version(&asked),
        "GLIBC_{highest:?} required, built for {}: {r:?}",
        asked.trim()
    );
    assert!(r.curl_versions().is_empty(), "no versioned libcurl symbol: {r:?}");
    assert!(!r.versions.iter().any(|v| v.starts_with("OPENSSL_")), "no versioned OpenSSL symbol: {r:?}");
    for gone in ["libcurl", "libssl", "libcrypto"] {
        assert!(!r.needed.iter().any(|n| n.starts_with(gone)), "{gone} is linked in, not needed: {r:?}");
    }
    println!(
        "portable_linux: {} (features '{}') needs glibc {} (built for {}), libraries {:?}",
        lib.display(),
        features.trim(),
        highest.iter().map(u32::to_string).collect::<Vec<_>>().join("."),
        asked.trim(),
        r.needed
    );
}
