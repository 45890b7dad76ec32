//! The analytics client against real stores and the test collector: identity,
//! screens, groups, aliases, the context, super properties, sessions, consent
//! and the remote configuration's per-event rules. Every event the collector
//! receives is checked against the Segment HTTP API's shapes.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use attracker::{Consent, DropReason, OfflineMode, Reset, Status, Tracker};
use common::collector::Collector;
use common::{collector_config, dispatch, Drops, ManualClock, TempDir};
use serde_json::{json, Value};

const MIN: Duration = Duration::from_secs(60);

/// The last event of call `ty` whose subject (event or screen name, group
/// id, previous id; nothing for identify) is `subject`.
fn event<'a>(events: &'a [Value], ty: &str, subject: &str) -> &'a Value {
    let key = match ty {
        "track" => "event",
        "screen" => "name",
        "group" => "groupId",
        "alias" => "previousId",
        _ => "type",
    };
    let subject = if ty == "identify" { "identify" } else { subject };
    // The last one: identify is called more than once in a test.
    events
        .iter()
        .rev()
        .find(|e| e["type"] == ty && e[key] == subject)
        .unwrap_or_else(|| panic!("no {ty} {subject} in {events:#?}"))
}

/// Dispatches everything and returns the events, checked against the spec.
fn sent(t: &Tracker, c: &Collector) -> Vec<Value> {
    let report = dispatch(t);
    assert!(report.status.is_ok(), "{:?}", report.status);
    let violations = c.spec_violations();
    assert!(violations.is_empty(), "not Segment-shaped: {violations:#?}");
    c.events()
}

#[test]
fn the_collectors_spec_check_refuses_what_the_spec_refuses() {
    use common::collector::segment::violations;
    let ok = json!({"type":"alias","messageId":"m","userId":"new","previousId":"old",
                    "timestamp":"2026-11-22T16:46:40.123Z","context":{}});
    assert!(violations(&ok).is_empty(), "{:?}", violations(&ok));
    let mut bad = ok.clone();
    bad["previousId"] = json!("");
    bad["extra"] = json!(1);
    assert_eq!(violations(&bad).len(), 2, "{:?}", violations(&bad));
    let track = json!({"type":"track","messageId":"m","anonymousId":"a","timestamp":"2026-11-22T16:46:40Z",
                       "context":{"os":"Linux"},"properties":[]});
    assert_eq!(
        violations(&track).len(),
        4,
        "no event, a short timestamp, os and properties: {:?}",
        violations(&track)
    );
}

#[test]
fn identify_sets_a_kept_user_id_and_merges_kept_traits() {
    let dir = TempDir::new("identify");
    let c = Collector::start();
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    assert_eq!(t.user_id().unwrap(), None);
    t.track_event("Before", None, None).unwrap();
    t.identify(Some("user-1"), Some(r#"{"name":"Ada","plan":"free"}"#), None).unwrap();
    t.identify(None, Some(r#"{"plan":"pro"}"#), None).unwrap();
    t.track_event("After", None, None).unwrap();
    drop(t);

    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    assert_eq!(t.user_id().unwrap().as_deref(), Some("user-1"), "kept across a restart");
    t.identify(None, Some(r#"{"age":36}"#), None).unwrap();
    let events = sent(&t, &c);
    let before = event(&events, "track", "Before");
    assert!(before.get("userId").is_none(), "tracked before identify: anonymous");
    assert_eq!(event(&events, "track", "After")["userId"], "user-1");
    let identifies: Vec<&Value> = events.iter().filter(|e| e["type"] == "identify").collect();
    assert_eq!(identifies.len(), 3);
    assert_eq!(identifies[0]["traits"], json!({"name": "Ada", "plan": "free"}));
    assert_eq!(identifies[1]["traits"], json!({"name": "Ada", "plan": "pro"}), "merged");
    assert_eq!(
        identifies[2]["traits"],
        json!({"name": "Ada", "plan": "pro", "age": 36}),
        "kept, then merged"
    );
    assert!(identifies.iter().all(|e| e["userId"] == "user-1" && e["anonymousId"].is_string()));

    for (user, traits) in [(Some(""), None), (Some("a\u{7}"), None), (None, Some("[1]")), (None, Some("{"))] {
        assert_eq!(t.identify(user, traits, None).unwrap_err().status, Status::InvalidArgument);
    }
    assert_eq!(t.user_id().unwrap().as_deref(), Some("user-1"), "a refused call changes nothing");
}

#[test]
fn screen_group_and_alias_have_the_segment_shapes() {
    let dir = TempDir::new("calls");
    let c = Collector::start();
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    let anonymous = t.visitor_id();
    t.screen("Home", Some(r#"{"tab":"feed"}"#), None).unwrap();
    t.alias("user-9", None).unwrap();
    t.group("team-3", Some(r#"{"seats":5}"#), None).unwrap();
    t.alias("user-10", None).unwrap();
    let events = sent(&t, &c);
    let screen = event(&events, "screen", "Home");
    assert_eq!(screen["properties"], json!({"tab": "feed"}));
    assert!(screen.get("userId").is_none() && screen.get("event").is_none());
    let first_alias = event(&events, "alias", &anonymous);
    assert_eq!(first_alias["userId"], "user-9", "previousId is the anonymous id without a user id");
    assert!(first_alias.get("properties").is_none() && first_alias.get("traits").is_none());
    assert_eq!(event(&events, "alias", "user-9")["userId"], "user-10", "then the user id");
    let group = event(&events, "group", "team-3");
    assert_eq!((group["traits"]["seats"].as_i64(), &group["userId"]), (Some(5), &json!("user-9")));
    assert_eq!(t.user_id().unwrap().as_deref(), Some("user-10"));
    assert_eq!(t.group("", None, None).unwrap_err().status, Status::InvalidArgument);
    assert_eq!(t.screen("", None, None).unwrap_err().status, Status::InvalidArgument);
}

#[test]
fn reset_forgets_what_it_names_and_queued_hits_keep_their_identity() {
    let dir = TempDir::new("reset");
    let c = Collector::start();
    let clock = ManualClock::start();
    let t = Tracker::with_clock(collector_config(&dir, &c), clock.clone()).unwrap();
    t.identify(Some("old-user"), Some(r#"{"a":1}"#), None).unwrap();
    t.register_super_properties(r#"{"plan":"pro"}"#).unwrap();
    t.track_event("Queued", None, None).unwrap();
    let (old_anonymous, old_session) = (t.visitor_id(), t.session_id().unwrap());
    clock.advance(Duration::from_millis(5));
    t.reset(Reset::ALL).unwrap();
    assert_eq!(t.user_id().unwrap(), None);
    assert_ne!(t.visitor_id(), old_anonymous);
    assert!(t.session_id().unwrap() > old_session, "a new session");
    t.track_event("Fresh", None, None).unwrap();
    t.identify(None, Some(r#"{"b":2}"#), None).unwrap();
    assert!(Reset::from_bits(0).is_err() && Reset::from_bits(16).is_err());

    let events = sent(&t, &c);
    let queued = event(&events, "track", "Queued");
    assert_eq!(queued["userId"], "old-user", "queued before the logout: sent as the old user");
    assert_eq!(queued["anonymousId"], old_anonymous.as_str());
    assert_eq!(queued["properties"]["plan"], "pro");
    assert_eq!(queued["context"]["sessionId"], old_session);
    let fresh = event(&events, "track", "Fresh");
    assert!(fresh.get("userId").is_none() && fresh["anonymousId"] != old_anonymous.as_str());
    assert!(fresh["properties"].get("plan").is_none(), "super properties reset");
    assert_ne!(fresh["context"]["sessionId"], old_session);
    assert_eq!(event(&events, "identify", "")["traits"], json!({"b": 2}), "traits reset");

    // Each flag alone.
    t.identify(Some("u"), None, None).unwrap();
    let anonymous = t.visitor_id();
    t.reset(Reset::ANONYMOUS_ID).unwrap();
    assert_eq!(t.user_id().unwrap().as_deref(), Some("u"));
    assert_ne!(t.visitor_id(), anonymous);
    t.reset(Reset::USER).unwrap();
    assert_eq!(t.user_id().unwrap(), None);
}

#[test]
fn the_context_is_in_every_event_and_each_hit_keeps_the_one_it_was_tracked_with() {
    let dir = TempDir::new("context");
    let c = Collector::start();
    let mut cfg = collector_config(&dir, &c);
    cfg.set_context(r#"{"app":{"name":"Game","version":"1.0"},"device":{"model":"X1"}}"#).unwrap();
    assert!(cfg.set_context(r#"{"library":{"name":"mine"}}"#).is_err(), "the library's key");
    let t = Tracker::new(cfg).unwrap();
    t.track_event("First", None, None).unwrap();
    t.set_context(r#"{"app":{"name":"Game","version":"1.1"},"network":{"wifi":true},"device":null}"#)
        .unwrap();
    t.track_event("Second", None, None).unwrap();
    assert_eq!(t.set_context("[]").unwrap_err().status, Status::InvalidArgument);
    let events = sent(&t, &c);
    let first = &event(&events, "track", "First")["context"];
    assert_eq!(first["app"]["version"], "1.0", "the first event after start has the config's context");
    assert_eq!(first["device"]["model"], "X1");
    assert_eq!(first["library"]["name"], "attracker");
    assert_eq!(first["os"]["name"], "Linux");
    assert!(first["attracker"]["seq"].is_u64() && first["sessionId"].is_i64());
    let second = &event(&events, "track", "Second")["context"];
    assert_eq!(second["app"]["version"], "1.1");
    assert_eq!(second["network"]["wifi"], true);
    assert!(second.get("device").is_none(), "null removed it");

    // One stored row per distinct context, not one per hit.
    drop(t);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let contexts: i64 = conn.query_row("SELECT count(*) FROM contexts", [], |r| r.get(0)).unwrap();
    assert!(contexts <= 3, "{contexts} contexts");
}

#[test]
fn super_properties_are_kept_and_merged_under_explicit_properties() {
    let dir = TempDir::new("supers");
    let c = Collector::start();
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    t.register_super_properties(r#"{"plan":"pro","level":1}"#).unwrap();
    t.register_super_properties(r#"{"build":42}"#).unwrap();
    drop(t);
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    t.track_event("Kept", Some(r#"{"level":7}"#), None).unwrap();
    t.screen("Shop", None, None).unwrap();
    t.unregister_super_property("plan").unwrap();
    t.unregister_super_property("not-there").unwrap();
    t.track_event("Removed", None, None).unwrap();
    t.identify(Some("u"), None, None).unwrap();
    assert_eq!(t.register_super_properties("1").unwrap_err().status, Status::InvalidArgument);
    let events = sent(&t, &c);
    assert_eq!(event(&events, "track", "Kept")["properties"], json!({"plan":"pro","level":7,"build":42}));
    assert_eq!(event(&events, "screen", "Shop")["properties"], json!({"plan":"pro","level":1,"build":42}));
    assert_eq!(event(&events, "track", "Removed")["properties"], json!({"level":1,"build":42}));
    assert_eq!(event(&events, "identify", "")["traits"], json!({}), "not merged into traits");
}

#[test]
fn sessions_rotate_only_after_the_timeouts_on_the_injected_clock() {
    let dir = TempDir::new("sessions");
    let c = Collector::start();
    let clock = ManualClock::start();
    let mut cfg = collector_config(&dir, &c);
    cfg.set_track_session_events(true);
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    t.track_event("a", None, None).unwrap();
    let first = t.session_id().unwrap();
    assert_eq!(first, ManualClock::START_MS, "the Unix ms of its start");
    clock.advance(29 * MIN);
    t.track_event("b", None, None).unwrap();
    clock.advance(29 * MIN);
    t.track_event("c", None, None).unwrap();
    assert_eq!(t.session_id().unwrap(), first, "activity keeps it alive");
    clock.advance(31 * MIN);
    t.track_event("d", None, None).unwrap();
    let second = t.session_id().unwrap();
    assert_eq!(second, first + 89 * 60_000, "foreground inactivity over 30 min");

    t.app_did_enter_background(Duration::from_millis(200), None).unwrap();
    clock.advance(4 * MIN);
    t.app_will_enter_foreground().unwrap();
    t.track_event("e", None, None).unwrap();
    assert_eq!(t.session_id().unwrap(), second, "4 min in the background");
    t.app_did_enter_background(Duration::from_millis(200), None).unwrap();
    clock.advance(6 * MIN);
    t.app_will_enter_foreground().unwrap();
    let third = t.session_id().unwrap();
    assert!(third > second, "6 min in the background");
    let by_hand = t.session_start().unwrap();
    assert!(by_hand > third);
    drop(t);

    // A quick restart goes on with the session; a late one starts anew.
    clock.advance(Duration::from_secs(10));
    let t = Tracker::with_clock(collector_config(&dir, &c), clock.clone()).unwrap();
    assert_eq!(t.session_id().unwrap(), by_hand);
    drop(t);
    clock.advance(6 * MIN);
    let t = Tracker::with_clock(collector_config(&dir, &c), clock.clone()).unwrap();
    assert!(t.session_id().unwrap() > by_hand);
    t.track_event("f", None, None).unwrap();

    let events = sent(&t, &c);
    let session = |name: &str| event(&events, "track", name)["context"]["sessionId"].as_i64().unwrap();
    assert_eq!([session("a"), session("b"), session("c")], [first; 3]);
    assert_eq!([session("d"), session("e")], [second; 2]);
    let started = events.iter().filter(|e| e["event"] == "Session Started").count();
    let ended: Vec<&Value> = events.iter().filter(|e| e["event"] == "Session Ended").collect();
    assert!(started >= 4, "{started} Session Started");
    let first_end =
        ended.iter().find(|e| e["context"]["sessionId"] == first).expect("the first session ended");
    let end_ms = ManualClock::START_MS + 58 * 60_000;
    assert_eq!(
        first_end["timestamp"],
        common::collector::iso8601(std::time::UNIX_EPOCH + Duration::from_millis(end_ms as u64))
    );
}

#[test]
fn pending_consent_stores_and_sends_nothing_until_granted() {
    let dir = TempDir::new("pending");
    let c = Collector::start();
    c.set_config("/config.json", Some(r#"{"schema_version":1}"#.into()), None);
    let mut cfg = collector_config(&dir, &c);
    cfg.set_initial_consent(Consent::Pending);
    cfg.set_remote_config_url(Some(&format!("{}/config.json", c.url()))).unwrap();
    cfg.set_remote_config_interval_ms(100).unwrap();
    let t = Tracker::new(cfg.clone()).unwrap();
    assert_eq!(t.consent().unwrap(), Consent::Pending);
    t.track_event("Waiting", None, None).unwrap();
    t.identify(Some("u"), None, None).unwrap();
    let report = dispatch(&t);
    assert_eq!(report.status.unwrap_err().status, Status::Suppressed);
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.requests().is_empty(), "no network at all: {:?}", c.requests().len());
    assert_eq!(t.offline_count().unwrap(), 2, "stored");
    drop(t);

    let t = Tracker::new(cfg).unwrap();
    assert_eq!(t.consent().unwrap(), Consent::Pending, "pending is the initial consent until answered");
    assert_eq!(t.set_consent(Consent::Granted).unwrap(), 0);
    let events = sent(&t, &c);
    assert_eq!(events.len(), 2);
    assert!(c.wait_for_requests(2, common::WAIT), "the remote config is fetched once granted");
}

#[test]
fn denied_consent_purges_what_is_queued_and_refuses_later_calls() {
    let dir = TempDir::new("denied");
    let c = Collector::start();
    let drops = Drops::default();
    let mut cfg = collector_config(&dir, &c);
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg.clone()).unwrap();
    for i in 0..5 {
        t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
    }
    assert_eq!(t.set_consent(Consent::Denied).unwrap(), 5);
    assert_eq!(t.offline_count().unwrap(), 0);
    for r in [t.track_event("e", None, None), t.screen("s", None, None), t.identify(Some("u"), None, None)] {
        assert_eq!(r.unwrap_err().status, Status::Suppressed);
    }
    assert_eq!(t.stats().unwrap().dropped_consent, 5);
    common::wait_until("drop notices", || drops.ids(DropReason::ConsentDenied).len() == 5);
    drop(t);
    let t = Tracker::new(cfg).unwrap();
    assert_eq!(t.consent().unwrap(), Consent::Denied, "kept in the store");
    assert_eq!(t.track_event("e", None, None).unwrap_err().status, Status::Suppressed);
    t.set_consent(Consent::Granted).unwrap();
    t.track_event("again", None, None).unwrap();
    let events = sent(&t, &c);
    assert_eq!(events.len(), 1, "nothing of the purged hits, no drop report: {events:#?}");
}

#[test]
fn consent_transitions_are_race_free_under_eight_tracking_threads() {
    let dir = TempDir::new("consent-race");
    let c = Collector::start();
    let drops = Drops::default();
    let mut cfg = collector_config(&dir, &c);
    cfg.set_max_queue_size(1_000_000).unwrap();
    cfg.set_max_store_bytes(1 << 30).unwrap();
    cfg.set_initial_consent(Consent::Pending);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(50);
    drops.attach(&mut cfg);
    let t = Arc::new(Tracker::new(cfg).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let (t, stop, accepted, refused) = (t.clone(), stop.clone(), accepted.clone(), refused.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(SeqCst) {
                    match t.track_event("race", Some(&format!(r#"{{"t":{n},"i":{i}}}"#)), None) {
                        Ok(()) => accepted.fetch_add(1, SeqCst),
                        Err(e) if e.status == Status::Suppressed => refused.fetch_add(1, SeqCst),
                        Err(e) => panic!("{e:?}"),
                    };
                    i += 1;
                }
            })
        })
        .collect();
    common::wait_until("some hits", || accepted.load(SeqCst) > 200);
    let mut purged = 0;
    for round in 0..6 {
        let next = [Consent::Granted, Consent::Pending, Consent::Denied][round % 3];
        purged += t.set_consent(next).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ends denied (round 5): every accepted hit was purged or sent.
    stop.store(true, SeqCst);
    threads.into_iter().for_each(|h| h.join().unwrap());
    assert!(refused.load(SeqCst) > 0, "calls were refused while denied");
    t.set_consent(Consent::Granted).unwrap();
    let report = dispatch(&t);
    assert!(report.status.is_ok());
    c.wait_idle(common::WAIT);
    assert_eq!(t.offline_count().unwrap(), 0);
    common::wait_until("drop notices", || drops.ids(DropReason::ConsentDenied).len() as u64 == purged);
    // A batch on the wire when consent was denied is delivered and purged both:
    // the union of the two is every accepted hit.
    let mut every: std::collections::HashSet<String> = c.unique_message_ids();
    assert!(!every.is_empty(), "some hits went out while consent was granted");
    every.extend(drops.ids(DropReason::ConsentDenied));
    assert_eq!(every.len() as u64, accepted.load(SeqCst), "every accepted hit delivered or purged");
}

#[test]
fn remote_rules_drop_sample_strip_and_cap_events_at_track_time() {
    let dir = TempDir::new("rules");
    let c = Collector::start();
    let doc = r#"{"schema_version":1,"events":{
        "*":{"remove_properties":["email"]},
        "Spam":{"drop":true},
        "Tap":{"sample_rate":0.25},
        "Purchase":{"max_bytes":60,"remove_properties":["card"]}}}"#;
    c.set_config("/rules.json", Some(doc.into()), None);
    let mut cfg = collector_config(&dir, &c);
    cfg.set_remote_config_url(Some(&format!("{}/rules.json", c.url()))).unwrap();
    let t = Tracker::new(cfg).unwrap();
    common::wait_until("the rules applied", || t.remote_config_json().is_some());

    assert_eq!(t.track_event("Spam", None, None).unwrap_err().status, Status::Suppressed);
    let (mut kept, mut sampled_out) = (0, 0);
    for _ in 0..400 {
        match t.track_event("Tap", None, None) {
            Ok(()) => kept += 1,
            Err(e) if e.status == Status::Suppressed => sampled_out += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!((50..150).contains(&kept), "{kept} of 400 kept at 0.25 ({sampled_out} out)");
    t.track_event("Purchase", Some(r#"{"card":"4111","sku":"a","email":"x@y"}"#), None).unwrap();
    let big = format!(r#"{{"sku":"{}"}}"#, "b".repeat(60));
    assert_eq!(t.track_event("Purchase", Some(&big), None).unwrap_err().status, Status::TooLarge);
    t.track_event("Other", Some(r#"{"email":"x@y","n":1}"#), None).unwrap();
    t.screen("Spam", None, None).unwrap();

    let events = sent(&t, &c);
    let taps: Vec<&Value> = events.iter().filter(|e| e["event"] == "Tap").collect();
    assert_eq!(taps.len(), kept);
    assert!(taps.iter().all(|e| e["context"]["attracker"]["sampleRate"] == 0.25), "the rate goes with them");
    let purchase = event(&events, "track", "Purchase");
    assert_eq!(purchase["properties"], json!({"sku": "a"}), "its own keys and the default's");
    assert!(purchase["context"]["attracker"].get("sampleRate").is_none());
    assert_eq!(event(&events, "track", "Other")["properties"], json!({"n": 1}));
    event(&events, "screen", "Spam");
}

#[test]
fn the_analytics_state_survives_only_as_much_damage_as_it_must() {
    let dir = TempDir::new("damaged-profile");
    let c = Collector::start();
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    t.identify(Some("u"), Some(r#"{"a":1}"#), None).unwrap();
    t.register_super_properties(r#"{"s":1}"#).unwrap();
    drop(t);
    common::edit_store(
        &dir,
        "UPDATE meta SET value = '[broken' WHERE key = 'traits';
         UPDATE meta SET value = x'00ff' WHERE key = 'consent';
         UPDATE meta SET value = 'nonsense' WHERE key = 'session';",
    );
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    assert_eq!(t.user_id().unwrap().as_deref(), Some("u"), "what is intact is kept");
    assert_eq!(t.consent().unwrap(), Consent::Granted, "a damaged consent falls back to the initial one");
    t.identify(None, None, None).unwrap();
    t.track_event("e", None, None).unwrap();
    let events = sent(&t, &c);
    assert_eq!(event(&events, "identify", "")["traits"], json!({}), "damaged traits dropped");
    assert_eq!(event(&events, "track", "e")["properties"], json!({"s": 1}));
}

#[test]
fn hits_keep_their_context_when_the_store_file_is_deleted_under_the_tracker() {
    let dir = TempDir::new("context-vanish");
    let c = Collector::start();
    let mut cfg = collector_config(&dir, &c);
    cfg.set_context(r#"{"app":{"version":"1.0"}}"#).unwrap();
    let t = Tracker::new(cfg).unwrap();
    t.track_event("old", None, None).unwrap();
    t.set_context(r#"{"app":{"version":"2.0"}}"#).unwrap();
    t.track_event("mid", None, None).unwrap();
    t.sync().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", dir.db().display())).unwrap();
    }
    std::thread::sleep(Duration::from_millis(60));
    t.track_event("new", None, None).unwrap();
    t.sync().unwrap();
    let events = sent(&t, &c);
    let version = |name: &str| event(&events, "track", name)["context"]["app"]["version"].clone();
    assert_eq!((version("old"), version("mid"), version("new")), (json!("1.0"), json!("2.0"), json!("2.0")));
}

#[test]
fn hits_stored_by_schema_3_are_migrated_and_sent_as_track_calls() {
    let dir = TempDir::new("schema3");
    let c = Collector::start();
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        for sql in ["v1", "v2", "v3"] {
            let text = std::fs::read_to_string(format!("src/store/sql/{sql}.sql")).unwrap();
            conn.execute_batch(&text).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO hits (message_id, kind, type, body, created_ms, visitor_id, session_id, session_ms)
             VALUES ('00000000-0000-4000-8000-000000000001', 0, 'Old', '{\"a\":1}', 1795366000000,
                     'v-old', '11111111-2222-4333-8444-555555555555', 42);
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let t = Tracker::new(collector_config(&dir, &c)).unwrap();
    let events = sent(&t, &c);
    let old = event(&events, "track", "Old");
    assert_eq!(old["anonymousId"], "v-old");
    assert!(old.get("userId").is_none());
    assert_eq!(old["context"]["library"]["name"], "attracker", "the library's own context");
    assert_eq!(old["context"]["session"]["id"], "11111111-2222-4333-8444-555555555555");
    assert_eq!(old["context"]["session"]["elapsedMs"], 42);
}
