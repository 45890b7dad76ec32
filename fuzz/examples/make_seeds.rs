//! Writes the seed stores of the `store_bytes` target: stores written by the
//! library and closed (so the database holds everything; no -wal).
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example make_seeds -- fuzz/seeds/store_bytes

use std::ffi::CString;
use std::path::Path;
use std::ptr::null_mut;

use attracker::ffi::*;
use attracker_fuzz::{Config, Tracker};

fn store(out: &Path, name: &str, fill: impl FnOnce(&Tracker)) {
    let dir = attracker_fuzz::scratch("seeds");
    let db = dir.join("hits.db");
    let c = Config::offline_store(&db);
    let t = Tracker::open(&c, &[AT_OK]).unwrap();
    fill(&t);
    t.close();
    drop(t);
    std::fs::copy(&db, out.join(name)).unwrap();
    attracker_fuzz::clear_dir(&dir);
}

fn event(t: &Tracker, ty: &str, props: &str) {
    let (ty, props) = (CString::new(ty).unwrap(), CString::new(props).unwrap());
    assert_eq!(unsafe { at_track_event(t.0, ty.as_ptr(), props.as_ptr(), None, null_mut()) }, AT_OK);
}

fn url(t: &Tracker, u: &str) {
    let u = CString::new(u).unwrap();
    assert_eq!(unsafe { at_send_hit(t.0, u.as_ptr(), c"screen".as_ptr(), None, null_mut()) }, AT_OK);
}

fn main() {
    let out = std::env::args().nth(1).expect("output directory");
    let out = Path::new(&out);
    std::fs::create_dir_all(out).unwrap();
    store(out, "empty.db", |_| {});
    store(out, "three-events.db", |t| {
        event(t, "Signed Up", r#"{"plan":"pro","seats":3}"#);
        event(t, "Viewed", "{}");
        event(t, "Purchased", r#"{"total":12.5,"items":[{"sku":"a"},{"sku":"b"}]}"#);
    });
    store(out, "events-and-urls.db", |t| {
        event(t, "a", r#"{"k":"v"}"#);
        url(t, "https://collect.example.com/hit?p=home&n=1");
        event(t, "b", r#"{"nested":{"deep":[1,2,3]}}"#);
        url(t, "http://127.0.0.1:8080/t?x=%20y");
    });
    store(out, "after-deletes.db", |t| {
        for i in 0..40 {
            event(t, "bulk", &format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(60)));
        }
        let mut n = 0;
        assert_eq!(unsafe { at_offline_delete_older_than(t.0, i64::MAX, &mut n) }, AT_OK);
        event(t, "after", r#"{"left":true}"#);
    });
}
