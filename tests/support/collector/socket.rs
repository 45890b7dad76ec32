//! Socket-level helpers: whether a client hung up, and closing with a reset.

use std::io::{self, BufReader};
use std::net::TcpStream;

/// Whether the client closed its end (checked after a `Delay`).
pub(super) fn client_gone(reader: &mut BufReader<TcpStream>) -> bool {
    if !reader.buffer().is_empty() {
        return false; // it sent more: still there
    }
    let s = reader.get_mut();
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let gone = match s.peek(&mut [0u8; 1]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = s.set_nonblocking(false);
    gone
}

/// Closes with an RST instead of a FIN (SO_LINGER with a zero timeout).
pub(super) fn reset(stream: TcpStream) {
    set_linger_zero(&stream);
    drop(stream);
}

/// Makes the next close send an RST. Where the option is not wired up here,
/// closing with the body still unread makes most stacks send one anyway.
fn set_linger_zero(stream: &TcpStream) {
    #[cfg(all(
        unix,
        any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ),
        not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))
    ))]
    {
        use std::os::raw::{c_int, c_void};
        use std::os::unix::io::AsRawFd;

        #[repr(C)]
        struct Linger {
            l_onoff: c_int,
            l_linger: c_int,
        }
        extern "C" {
            fn setsockopt(socket: c_int, level: c_int, name: c_int, value: *const c_void, len: u32) -> c_int;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        const LEVEL_NAME: (c_int, c_int) = (1, 13); // SOL_SOCKET, SO_LINGER
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        const LEVEL_NAME: (c_int, c_int) = (0xffff, 0x0080); // BSD values

        let linger = Linger { l_onoff: 1, l_linger: 0 };
        // SAFETY: a valid socket descriptor, a pointer to a live `struct linger`
        // and its size; setsockopt does not keep the pointer.
        unsafe {
            setsockopt(
                stream.as_raw_fd(),
                LEVEL_NAME.0,
                LEVEL_NAME.1,
                &linger as *const Linger as *const c_void,
                std::mem::size_of::<Linger>() as u32,
            );
        }
    }
    let _ = stream;
}
