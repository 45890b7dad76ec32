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

#[test]
fn the_example_collector_prints_each_stores_account() {
    // A store that dropped hits for its full queue, and reported them.
    let dir = TempDir::new("example-collector");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut c = config(&dir.db());
    c.set_endpoint(&format!("http://{addr}")).unwrap();
    c.set_max_queue_size(5).unwrap();
    c.set_report_drops(true);
    let t = Tracker::new(c).unwrap();
    for i in 0..8 {
        t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
    }
    let stored = t.offline_count().unwrap();
    let dropped = t.stats().unwrap().dropped_overflow;
    assert!(dropped > 0);
    let mut child = Command::new(example("collector"))
        .args([addr.as_str(), "--exit-after", &stored.to_string(), "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cargo test builds the examples");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.offline_count().unwrap() > 0 {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("not delivered to the example collector");
        }
        let _ = common::dispatch(&t);
        std::thread::sleep(Duration::from_millis(50));
    }
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the example collector did not exit after {stored} events");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let account = text.lines().rfind(|l| l.trim_start().starts_with("store ")).unwrap_or_default();
    assert!(account.contains(&format!("received {stored}")), "{text}");
    assert!(account.contains(&format!("reported dropped {dropped} (overflow {dropped})")), "{account}");
    assert!(account.ends_with("balanced"), "{account}");
    // --json: every event as received, each one Segment-shaped.
    let events: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("json "))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: std::collections::HashSet<&str> =
        events.iter().filter_map(|e| e["messageId"].as_str()).collect();
    assert_eq!(ids.len() as u64, stored, "{text}");
    assert!(events.iter().all(|e| e["type"] == "track" && e["messageId"].is_string()), "{text}");
    assert!(!text.contains("SPEC VIOLATION"), "{text}");
    t.close(Duration::from_secs(1)).unwrap();
}
