//! Exports one C function that exercises std, so the archive carries std's
//! allocator shims, panic runtime and rust_eh_personality, exactly the symbols
//! two Rust staticlibs would clash on.

/// Returns 42, computed with a heap-allocated Vec after catching a panic
/// (unwinding through this library's own personality routine).
#[no_mangle]
pub extern "C" fn other_rust_answer() -> i32 {
    let doubled: Vec<i32> = (1..=6).map(|x| x * 2).collect();
    std::panic::set_hook(Box::new(|_| {})); // keep the expected panic quiet
    let caught = std::panic::catch_unwind(|| -> i32 { panic!("unwinds to catch_unwind") });
    let _ = std::panic::take_hook();
    if caught.is_ok() {
        return -1;
    }
    doubled.iter().sum()
}
