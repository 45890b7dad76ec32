//! The shell scripts under scripts/ parse (`bash -n`) and pass shellcheck
//! (when installed; scripts/deps.sh installs it, otherwise the lint is skipped
//! with a message), and each per-platform build script states what it needs
//! and what it produces. They cannot run here (no Xcode, NDK or Windows); see
//! the README's platform table.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    all.sort();
    all
}

#[test]
fn every_script_parses() {
    let all = scripts();
    assert!(all.iter().any(|p| p.ends_with("build-apple.sh")), "scripts: {all:?}");
    for script in all {
        let out = Command::new("bash").arg("-n").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "bash -n {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_script_passes_shellcheck() {
    if Command::new("shellcheck").arg("--version").output().is_err() {
        println!("skipped: shellcheck is not installed (apt-get install shellcheck)");
        return;
    }
    for script in scripts() {
        let out = Command::new("shellcheck").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "shellcheck {}:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn the_platform_build_scripts_say_what_they_need_and_make() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let expect: [(&str, &[&str]); 4] = [
        (
            "build-apple.sh",
            &["Needs:", "xcodebuild -create-xcframework", "aarch64-apple-ios-sim", "module.modulemap"],
        ),
        (
            "build-android.sh",
            &[
                "Needs:",
                "ANDROID_NDK_HOME",
                "arm64-v8a",
                "armeabi-v7a",
                "x86_64",
                "Plugins/Android/",
                "libattracker_native.so",
            ],
        ),
        (
            "build-windows.sh",
            &["Needs:", "x86_64-pc-windows-gnu", "libattracker.dll.a", "attracker_native.dll"],
        ),
        (
            "build-windows.ps1",
            &["Needs:", "x86_64-pc-windows-msvc", "attracker.dll.lib", "attracker_native.dll"],
        ),
    ];
    for (name, needles) in expect {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        for needle in needles {
            assert!(text.contains(needle), "{name} does not mention {needle}");
        }
    }
}
