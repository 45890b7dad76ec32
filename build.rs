//! The shared library's SONAME on Linux: `libattracker.so.<major>` (0 while the
//! version is 0.x), so programs record the ABI they were linked against and an
//! incompatible release can be installed beside them. CMake's post-build step
//! (cmake/AttrackerPostBuild.cmake) reads it and lays out the usual
//! `libattracker.so.<version>` / `.so.<major>` / `.so` links. Not on Android:
//! its loader finds libraries by file name, and Unity and Gradle package
//! `libattracker.so` as is.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "freebsd" | "netbsd" | "openbsd") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libattracker.so.{major}");
    }
}
