//! What the fuzz targets share: reading structured values from the fuzzer's
//! bytes, the oracle every C call goes through, private scratch directories, and
//! small owners for configs, trackers and stored hits read through the C ABI.

use std::ffi::{c_char, c_void, CStr, CString};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicI32, Ordering};

use attracker::ffi::*;

pub mod store;

/// Reads values front to back; past the end every read yields zero or empty,
/// so any input is a complete program.
pub struct Input<'a> {
    data: &'a [u8],
}

/// Values that sit on boundaries, picked by a selector byte.
const EDGES_U64: [u64; 8] = [0, 1, 100, 1000, u32::MAX as u64, i32::MAX as u64, u64::MAX, i64::MAX as u64];

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    fn raw<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in out.iter_mut() {
            *b = self.u8();
        }
        out
    }

    /// A selector byte, then: below 0x80 the selector itself (small values),
    /// below 0xC0 a boundary value, else eight raw bytes.
    pub fn u64(&mut self) -> u64 {
        match self.u8() {
            s @ 0..=0x7f => u64::from(s),
            s @ 0x80..=0xbf => EDGES_U64[usize::from(s & 7)],
            _ => u64::from_le_bytes(self.raw()),
        }
    }

    /// As `u64`, cut to 32 bits (boundary values wrap, e.g. to `u32::MAX`).
    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }

    /// A selector byte, then: small values of either sign, a boundary value
    /// (0, -1, the extremes, a day and an hour in ms…), or eight raw bytes.
    pub fn i64(&mut self) -> i64 {
        match self.u8() {
            s @ 0..=0x3f => i64::from(s),
            s @ 0x40..=0x7f => -i64::from(s & 0x3f),
            s @ 0x80..=0xbf => {
                [0, -1, i64::MIN, i64::MAX, i64::from(i32::MIN), 1 << 53, 3_600_000, 86_400_000]
                    [usize::from(s & 7)]
            }
            _ => i64::from_le_bytes(self.raw()),
        }
    }

    /// The bytes up to the next 0x1F (unit separator), which is consumed; the
    /// rest of the input when there is none.
    pub fn field(&mut self) -> &'a [u8] {
        match self.data.iter().position(|&b| b == 0x1f) {
            Some(i) => {
                let (f, rest) = self.data.split_at(i);
                self.data = &rest[1..];
                f
            }
            None => self.rest(),
        }
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// What a C caller passes for these bytes: the string up to the first NUL.
pub fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no NUL before end")
}

/// The bytes a C caller's string holds (up to the first NUL).
pub fn c_bytes(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]
}

/// `Some(CString)` as a pointer, or NULL.
pub fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(null(), |s| s.as_ptr())
}

pub fn last_error() -> Vec<u8> {
    let p = at_last_error();
    assert!(!p.is_null(), "at_last_error() returned NULL");
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

pub const STATUS_NAMES: [&str; 10] = [
    "OK",
    "NULL_ARGUMENT",
    "INVALID_ARGUMENT",
    "TOO_LARGE",
    "SUPPRESSED",
    "STORAGE",
    "NETWORK",
    "CANCELLED",
    "CLOSED",
    "INTERNAL",
];

/// Runs one C call and checks what every call must satisfy: a known status,
/// never `AT_ERR_INTERNAL` (a caught panic) nor `AT_ERR_CANCELLED` (callbacks
/// only), `at_last_error()` untouched on `AT_OK` and a fresh, non-empty message
/// on failure; then that the status is one of `allowed`.
#[track_caller]
pub fn checked(name: &str, allowed: &[at_status], f: impl FnOnce() -> at_status) -> at_status {
    // A failure of another function first, so a stale message is visible.
    let planted = unsafe {
        if name == "at_tracker_new" {
            at_tracker_sync(null_mut())
        } else {
            at_tracker_new(null(), null_mut())
        }
    };
    assert_eq!(planted, AT_ERR_NULL_ARGUMENT);
    let sentinel = last_error();
    let status = f();
    let err = last_error();
    let shown = String::from_utf8_lossy(&err);
    assert!(status <= AT_ERR_KEY_REJECTED, "{name} returned {status}, not an at_status");
    assert_ne!(status, AT_ERR_INTERNAL, "{name} returned AT_ERR_INTERNAL (a panic?): {shown}");
    assert_ne!(status, AT_ERR_CANCELLED, "{name} returned AT_ERR_CANCELLED, which is for callbacks");
    if status == AT_OK {
        assert_eq!(err, sentinel, "{name} succeeded but changed at_last_error() to {shown:?}");
    } else {
        assert!(!err.is_empty() && err != sentinel, "{name} failed without a message of its own");
    }
    assert!(
        allowed.contains(&status),
        "{name} returned {} ({shown:?}); allowed: {:?}",
        STATUS_NAMES[status as usize],
        allowed.iter().map(|&s| STATUS_NAMES[s as usize]).collect::<Vec<_>>()
    );
    status
}

/// A private (0700) directory for this process, removed at exit. On tmpfs
/// (`/dev/shm`) when there is one, so fsync costs nothing and a run is not
/// bound by the disk; else under the system temp dir. Directories left by
/// processes that died are removed first.
pub fn scratch(tag: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
    let prefix = format!("attracker-fuzz-{tag}-");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok()) {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new().mode(0o700).create(&dir).expect("scratch directory");
    remove_at_exit(&dir);
    dir
}

fn remove_at_exit(dir: &Path) {
    use std::sync::Mutex;
    static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    extern "C" fn remove_all() {
        if let Ok(dirs) = DIRS.lock() {
            for d in dirs.iter() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
    extern "C" {
        fn atexit(f: extern "C" fn()) -> i32;
    }
    let mut dirs = DIRS.lock().unwrap();
    if dirs.is_empty() {
        // SAFETY: registers a plain function with the C runtime.
        unsafe { atexit(remove_all) };
    }
    dirs.push(dir.to_owned());
}

/// Removes everything inside `dir`, keeping it.
pub fn clear_dir(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
    }
}

/// Names in `dir` of stores moved aside as damaged.
pub fn moved_aside(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.contains(".corrupt-"))
        .collect()
}

/// An `at_config`, freed when dropped.
pub struct Config(pub *mut at_config);

impl Config {
    pub fn new() -> Config {
        let c = at_config_new();
        assert!(!c.is_null());
        Config(c)
    }

    /// A config for `db` that never touches the network: stored hits wait for a
    /// dispatch (`AT_OFFLINE_ALWAYS`) and requests go to `answer_now`.
    pub fn offline_store(db: &Path) -> Config {
        let c = Config::new();
        let path = CString::new(db.to_str().unwrap()).unwrap();
        unsafe {
            assert_eq!(at_config_set_storage_path(c.0, path.as_ptr()), AT_OK);
            assert_eq!(at_config_set_endpoint(c.0, c"http://127.0.0.1:9/v1".as_ptr()), AT_OK);
            assert_eq!(at_config_set_offline_mode(c.0, AT_OFFLINE_ALWAYS), AT_OK);
            // The store targets compare counts with listings: drop reports
            // (tested in tests/accounting.rs) would add rows between them.
            assert_eq!(at_config_set_report_drops(c.0, false), AT_OK);
            assert_eq!(at_config_set_transport(c.0, Some(answer_now), null_mut()), AT_OK);
        }
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        unsafe { at_config_free(self.0) }
    }
}

/// The HTTP status `answer_now` completes requests with (0: unreachable).
pub static ANSWER: AtomicI32 = AtomicI32::new(0);

/// A host transport that completes each request at once, inside the call, with
/// `ANSWER`: no network is ever used.
///
/// # Safety
/// `request` is a live transport request handed out by the library (the
/// library is the only caller, through `at_config_set_transport`).
pub unsafe extern "C" fn answer_now(request: *mut at_request, _user_data: *mut c_void) {
    let status = ANSWER.load(Ordering::Relaxed);
    let err = if (100..=599).contains(&status) { null() } else { c"not reached (fuzzing)".as_ptr() };
    let done = unsafe { at_transport_complete(request, status, 0, err) };
    assert_eq!(done, AT_OK, "completing a request with {status}");
}

/// A stored hit read through the C ABI, copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub message_id: Vec<u8>,
    pub hit_type: Vec<u8>,
    pub url: Vec<u8>,
    /// Empty for URL hits (NULL body).
    pub body: Option<Vec<u8>>,
    pub created_ms: i64,
}

unsafe fn text(p: *const c_char, what: &str) -> Vec<u8> {
    assert!(!p.is_null(), "a stored hit's {what} is NULL");
    let b = CStr::from_ptr(p).to_bytes().to_vec();
    assert!(std::str::from_utf8(&b).is_ok(), "a stored hit's {what} is not UTF-8");
    b
}

unsafe fn read_hit(h: *const at_hit) -> Hit {
    assert!(!h.is_null());
    let body = at_hit_body(h);
    Hit {
        id: at_hit_id(h),
        message_id: text(at_hit_message_id(h), "message id"),
        hit_type: text(at_hit_type(h), "type"),
        url: text(at_hit_url(h), "url"),
        body: (!body.is_null()).then(|| text(body, "body")),
        created_ms: at_hit_creation_date_ms(h),
    }
}

/// A tracker, freed when dropped.
pub struct Tracker(pub *mut at_tracker);

// SAFETY: the header: any function may be called from any thread at once.
unsafe impl Send for Tracker {}
unsafe impl Sync for Tracker {}

impl Tracker {
    /// `at_tracker_new`, through the oracle; `Err(status)` when refused.
    pub fn open(config: &Config, allowed: &[at_status]) -> Result<Tracker, at_status> {
        let mut t = null_mut();
        match checked("at_tracker_new", allowed, || unsafe { at_tracker_new(config.0, &mut t) }) {
            AT_OK => {
                assert!(!t.is_null());
                Ok(Tracker(t))
            }
            s => {
                assert!(t.is_null(), "a refused at_tracker_new wrote a tracker");
                Err(s)
            }
        }
    }

    /// The stored count, or the failure status.
    pub fn count(&self) -> Result<u64, at_status> {
        let mut n = u64::MAX;
        match checked("at_offline_count", &[AT_OK, AT_ERR_STORAGE], || unsafe {
            at_offline_count(self.0, &mut n)
        }) {
            AT_OK => Ok(n),
            s => Err(s),
        }
    }

    /// Every stored hit (`at_offline_get`), or the failure status.
    pub fn all(&self) -> Result<Vec<Hit>, at_status> {
        let mut list = null_mut();
        let s = checked("at_offline_get", &[AT_OK, AT_ERR_STORAGE], || unsafe {
            at_offline_get(self.0, &mut list)
        });
        if s != AT_OK {
            return Err(s);
        }
        unsafe {
            let n = at_hit_list_len(list);
            let hits: Vec<Hit> = (0..n).map(|i| read_hit(at_hit_list_get(list, i))).collect();
            assert!(at_hit_list_get(list, n).is_null(), "an index past the end is NULL");
            at_hit_list_free(list);
            assert!(hits.windows(2).all(|w| w[0].id < w[1].id), "hits come oldest first, ids rising");
            Ok(hits)
        }
    }

    /// The newest stored hit.
    pub fn latest(&self) -> Option<Hit> {
        let mut h = null_mut();
        let s = checked("at_offline_latest", &[AT_OK], || unsafe { at_offline_latest(self.0, &mut h) });
        assert_eq!(s, AT_OK);
        (!h.is_null()).then(|| unsafe {
            let hit = read_hit(h);
            at_hit_free(h);
            hit
        })
    }

    pub fn close(&self) -> at_status {
        checked("at_tracker_close", &[AT_OK], || unsafe { at_tracker_close(self.0, 5000) })
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        unsafe { at_tracker_free(self.0) }
    }
}

/// Tracks one small event through the oracle; its status.
pub fn track_one(t: &Tracker, allowed: &[at_status]) -> at_status {
    checked("at_track_event", allowed, || unsafe {
        at_track_event(t.0, c"fuzz".as_ptr(), c"{\"n\":1}".as_ptr(), None, null_mut())
    })
}
