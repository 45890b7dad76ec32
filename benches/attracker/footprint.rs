//! Footprint: the bytes the library costs a host. The section rebuilds what it
//! measures (`cargo build --release --lib` into the benchmark's own target
//! directory, so a profile or SQLite flag change is measured, not a stale
//! file), then reports the stripped shared library, the static archive, what
//! the archive adds to a stripped C program (`footprint_app.c`, with and
//! without `-Wl,--gc-sections`), and the bytes per event on the wire
//! (`wire.rs`). The full run also builds the mobile profile and times it
//! against the release build through the same C program.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::{Figure, Target};

const KIB: f64 = 1024.0;
const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/attracker/footprint_app.c");
/// Events the mobile/release speed comparison tracks.
const TIMED_EVENTS: &str = "200000";

pub fn figures(quick: bool, target: &Path, scratch: &Path, figures: &mut Vec<Figure>) {
    crate::progress("footprint: cargo build --release --lib");
    let release = build(target, "release");
    let so = stripped(&release.join("libattracker.so"), "--strip-all", scratch);
    figures.push(
        Figure::new("libattracker.so, stripped", vec![so / KIB], "KiB").target(Target::AtMost(1536.0)).note(
            "rebuilt by this run (cargo build --release --lib, default features), strip --strip-all; \
                 README \"Size\" says where the bytes go",
        ),
    );
    let archive = stripped(&release.join("libattracker.a"), "--strip-debug", scratch);
    figures.push(Figure::new("libattracker.a, debug info stripped", vec![archive / KIB], "KiB"));

    let libs = native_static_libs(scratch);
    let base = app(scratch, "base", &[]);
    let archive = release.join("libattracker.a").display().to_string();
    let mut with = vec!["-DWITH_ATTRACKER".to_owned(), archive];
    with.extend(libs.iter().cloned());
    let full = app(scratch, "static", &with);
    with.insert(0, "-Wl,--gc-sections".to_owned());
    let gc = app(scratch, "static-gc", &with);
    run_app(&gc, scratch, "1");
    figures.push(
        Figure::new("static archive adds, --gc-sections", vec![(gc.1 - base.1) / KIB], "KiB")
            .target(Target::AtMost(2048.0))
            .note(format!(
                "a stripped C program calling at_tracker_new, at_track_event and at_tracker_free \
                 (benches/attracker/footprint_app.c), linked with cargo's libattracker.a and {}, minus the \
                 same program without the library; without --gc-sections it adds {:.0} KiB",
                libs.join(" "),
                (full.1 - base.1) / KIB
            )),
    );
    figures.push(Figure::new("static archive adds, no --gc-sections", vec![(full.1 - base.1) / KIB], "KiB"));

    if !quick {
        crate::progress("footprint: cargo build --profile mobile --lib");
        let mobile = build(target, "mobile");
        let mobile_so = stripped(&mobile.join("libattracker.so"), "--strip-all", scratch);
        let (fast, small) =
            (shared_app(scratch, &release, "release"), shared_app(scratch, &mobile, "mobile"));
        let (mut release_rate, mut mobile_rate, mut refused) = (Vec::new(), Vec::new(), 0.0);
        for _ in 0..3 {
            let (rate, r) = run_app(&fast, scratch, TIMED_EVENTS);
            release_rate.push(rate);
            refused += r;
            let (rate, r) = run_app(&small, scratch, TIMED_EVENTS);
            mobile_rate.push(rate);
            refused += r;
        }
        figures.push(
            Figure::new("libattracker.so, mobile profile, stripped", vec![mobile_so / KIB], "KiB")
                .against("release profile", so / KIB)
                .note("cargo build --profile mobile --lib: opt-level \"z\", fat LTO, one codegen unit"),
        );
        figures.push(
            Figure::new("enqueue BATCHED, mobile profile .so", mobile_rate, "events/s")
                .against("release profile .so", crate::report::median(&release_rate))
                .note(format!(
                    "footprint_app.c linked against each shared library, {TIMED_EVENTS} events of 300-byte \
                     properties until committed, 3 runs each, alternating; {refused:.0} calls refused as \
                     not accepted (the store took nothing for a commit window) and retried"
                )),
        );
    }

    crate::progress("footprint: bytes per event on the wire");
    let wire = crate::wire::bytes_per_event(scratch, 2_000);
    figures.push(Figure::new("bytes per event on the wire, JSON", vec![wire.json], "bytes").note(format!(
        "request bodies to the test collector divided by the events in them: {} events of 300-byte \
             properties, an identified user, the {}-byte host context of the storage figure; plus {:.0} \
             bytes of request line and headers per request of {} events",
        wire.events,
        crate::storage::CONTEXT.len(),
        wire.head_per_request,
        wire.per_request
    )));
    figures.push(Figure::new("bytes per event on the wire, gzip", vec![wire.gzip], "bytes"));
}

/// `cargo build --lib` of this crate with `profile` into `target` (the
/// benchmark's own target directory: the dependencies are shared with the
/// benchmark's build); returns the directory holding the libraries.
fn build(target: &Path, profile: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let dir = env!("CARGO_MANIFEST_DIR");
    let status = Command::new(cargo)
        .args(["build", "--locked", "--lib", "--profile", profile, "--manifest-path"])
        .arg(Path::new(dir).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        // The repository's .cargo/config.toml (SQLite's flags) is read from here.
        .current_dir(dir)
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build --profile {profile} failed");
    target.join(profile)
}

/// Size of `lib` after `strip <how>`, bytes.
fn stripped(lib: &Path, how: &str, scratch: &Path) -> f64 {
    let out = scratch.join("stripped");
    let ok = Command::new("strip").arg(how).arg("-o").arg(&out).arg(lib).status().expect("run strip");
    assert!(ok.success(), "strip {how} {}", lib.display());
    let size = std::fs::metadata(&out).unwrap().len();
    std::fs::remove_file(&out).unwrap();
    size as f64
}

/// What rustc says a static library of this target links from the system,
/// plus the system libcurl of the default transport.
fn native_static_libs(scratch: &Path) -> Vec<String> {
    let dir = scratch.join("probe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("probe.rs"), "").unwrap();
    let out = Command::new("rustc")
        .args(["--crate-type", "staticlib", "--crate-name", "probe", "--edition", "2021"])
        .args(["--print", "native-static-libs", "-o"])
        .arg(dir.join("libprobe.a"))
        .arg(dir.join("probe.rs"))
        .output()
        .expect("run rustc");
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find_map(|l| l.split("native-static-libs: ").nth(1)).expect("native-static-libs");
    std::iter::once("-lcurl").chain(line.split_whitespace()).map(str::to_owned).collect()
}

/// Compiles footprint_app.c with `args` and strips it; returns its path and size.
fn app(scratch: &Path, name: &str, args: &[String]) -> (PathBuf, f64) {
    let out = scratch.join(name);
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let mut cmd = Command::new(cc);
    cmd.args(["-O2", "-I", include, "-o"]).arg(&out).arg(APP);
    // Libraries after the source, the order static linking needs.
    let (flags, libs): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| a.starts_with("-D"));
    cmd.args(flags).args(libs);
    let status = cmd.status().expect("run cc");
    assert!(status.success(), "cc {args:?}");
    assert!(Command::new("strip").arg(&out).status().unwrap().success());
    let size = std::fs::metadata(&out).unwrap().len() as f64;
    (out, size)
}

/// footprint_app.c linked against the shared library in `dir`, copied under
/// the names the link and the loader look for (its SONAME is
/// libattracker.so.0, build.rs).
fn shared_app(scratch: &Path, dir: &Path, name: &str) -> (PathBuf, f64) {
    let lib_dir = scratch.join(format!("lib-{name}"));
    std::fs::create_dir_all(&lib_dir).unwrap();
    for file in ["libattracker.so", "libattracker.so.0"] {
        std::fs::copy(dir.join("libattracker.so"), lib_dir.join(file)).unwrap();
    }
    let args = [
        "-DWITH_ATTRACKER".to_owned(),
        format!("-L{}", lib_dir.display()),
        format!("-Wl,-rpath,{}", lib_dir.display()),
        "-lattracker".to_owned(),
    ];
    app(scratch, &format!("shared-{name}"), &args)
}

/// Runs the program on a fresh store; returns the events/s it printed and the
/// calls it retried because the store took nothing for a commit window.
fn run_app(app: &(PathBuf, f64), scratch: &Path, events: &str) -> (f64, f64) {
    let db = crate::fresh(scratch, "footprint.db");
    let out = Command::new(&app.0).arg(&db).arg(events).output().expect("run footprint_app");
    crate::fresh(scratch, "footprint.db");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}: {text} {}", app.0.display(), String::from_utf8_lossy(&out.stderr));
    let field = |i: usize| -> f64 {
        text.split_whitespace().nth(i).and_then(|v| v.parse().ok()).expect("events_per_s")
    };
    (field(1), field(3))
}
