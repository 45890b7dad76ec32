//! The shipped example programs, run as a user would run them.

mod common;

use std::process::Command;
use std::time::Duration;

use attracker::Tracker;
use common::{config, TempDir};

fn example(name: &str) -> std::path::PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples").join(name)
}

#[test]
fn inspect_prints_json_lines_oldest_first_beside_an_open_tracker() {
    let dir = TempDir::new("inspect");
    let t = Tracker::new(config(&dir.db())).unwrap();
    t.track_event("screen_view", Some(r#"{"screen":"home"}"#), None).unwrap();
    t.send_hit("http://127.0.0.1:9/hit?p=1", "screen", None).unwrap();
    let out =
        Command::new(example("inspect")).arg(dir.db()).output().expect("cargo test builds the examples");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["type"], "screen_view");
    assert_eq!(lines[0]["properties"]["screen"], "home");
    assert_eq!(lines[1]["kind"], "url");
    assert_eq!(lines[1]["url"], "http://127.0.0.1:9/hit?p=1");
    assert!(lines[0]["id"].as_i64() < lines[1]["id"].as_i64());
    // The tracker that had it open goes on undisturbed.
    t.track_event("after", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 3);
    t.close(Duration::from_secs(1)).unwrap();
}

#[test]
fn inspect_reports_a_missing_store_with_an_error() {
    let out = Command::new(example("inspect")).arg("/nonexistent/dir/x.db").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("inspect:"));
}
