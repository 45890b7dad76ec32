//! A local collector to watch your app's hits arrive.
//!
//! ```text
//! cargo run --example collector -- [ADDR] [--exit-after N] [--json]
//! ```
//!
//! Listens on ADDR (default 127.0.0.1:8080), accepts `POST /v1/batch` and URL
//! hits (`GET`), and prints each as it arrives — a line per batch, a line per
//! event, a line per hit, and a line per request it rejected — until Ctrl-C.
//! Point the tracker's endpoint at the URL printed on the first line.
//! `--exit-after N` exits once N distinct events and hits have arrived.
//! `--json` also prints each event as received, one line of compact JSON
//! (keys sorted) after its summary line, prefixed `json `: every Segment field
//! (`type`, `userId`, `name`, `groupId`, `previousId`, `traits`, `context`).
//! An event that does not have the Segment HTTP API's shape gets a
//! `SPEC VIOLATION` line per difference (tests/support/collector/segment.rs).
//!
//! After each batch it prints, for every store whose account changed, the
//! loss accounting the tracker makes possible: the sequence numbers received
//! (`context.attracker.seq`, per `context.attracker.store`), the gaps, the
//! duplicates, and the drops the store reported ("Attracker Hits Dropped"
//! events); "balanced" when the gaps are exactly the reported drops.

#[path = "../tests/support/collector/mod.rs"]
mod collector;

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use collector::accounting::{account, show_ranges, StoreAccount};
use collector::{iso8601, Batch, Collector, RequestLog};
use serde_json::Value;
use std::collections::BTreeMap;

/// `println!` that exits quietly when stdout is gone (`collector | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

const USAGE: &str = "usage: collector [ADDR] [--exit-after N] [--json]   (ADDR defaults to 127.0.0.1:8080)";

fn main() -> ExitCode {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut exit_after: Option<usize> = None;
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                say!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--exit-after" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => exit_after = Some(n),
                None => {
                    eprintln!("--exit-after needs a number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--json" => json = true,
            a if a.starts_with('-') => {
                eprintln!("unknown option {a}\n{USAGE}");
                return ExitCode::from(2);
            }
            a => addr = a.to_string(),
        }
    }

    let c = match Collector::start_on(&addr) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("collector: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    say!("collector listening on {}", c.url());
    say!("  batches: POST {}/v1/batch   hits: GET {}/<anything>", c.url(), c.url());

    // Instants in the log, as wall-clock times.
    let (base_instant, base_time) = (Instant::now(), SystemTime::now());
    let wall = |at: Instant| match at.checked_duration_since(base_instant) {
        Some(d) => base_time + d,
        None => base_time - base_instant.duration_since(at),
    };

    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut accounts: BTreeMap<String, StoreAccount> = BTreeMap::new();
    let (mut next_request, mut next_batch, mut next_hit) = (0usize, 0usize, 0usize);
    loop {
        c.wait_for_requests(next_request + 1, Duration::from_millis(500));
        // Requests first: an accepted request's batch or hit is recorded with
        // its log entry, so the later snapshots hold everything it refers to.
        let requests = c.requests();
        if requests.len() > next_request {
            let batches = c.batches();
            let hits = c.hits();
            for r in &requests[next_request..] {
                let when = iso8601(wall(r.received_at));
                let accepted = (200..300).contains(&r.status);
                if accepted && r.method == "POST" {
                    print_batch(&when, &batches[next_batch], &mut seen_ids, json);
                    next_batch += 1;
                } else if accepted && r.method == "GET" {
                    say!("{when}  GET  {}", hits[next_hit]);
                    next_hit += 1;
                } else {
                    print_rejected(&when, r);
                }
            }
            next_request = requests.len();
            print_accounts(&account(&c.events()), &mut accounts);
        }
        if let Some(n) = exit_after {
            let arrived = c.unique_message_ids().len() + c.hits().len();
            if arrived >= n {
                say!("collector: {arrived} events and hits arrived (--exit-after {n}); exiting");
                // The last batch is recorded before its answer is written: give
                // that answer time to go out before the connections close.
                std::thread::sleep(std::time::Duration::from_millis(300));
                return ExitCode::SUCCESS;
            }
        }
    }
}

fn print_batch(when: &str, b: &Batch, seen_ids: &mut HashSet<String>, json: bool) {
    let size = if b.gzip {
        format!("gzip {} -> {} bytes", b.body_bytes, b.decoded_bytes)
    } else {
        format!("{} bytes", b.body_bytes)
    };
    let sent_at = b.body.get("sentAt").and_then(Value::as_str).unwrap_or("-");
    let auth = match b.header("authorization") {
        Some(a) => a.split(' ').next().unwrap_or("").to_string() + " auth",
        None => "no auth".to_string(),
    };
    say!("{when}  POST /v1/batch  {} event(s), {size}, {auth}, sentAt {sent_at}", b.events().len());
    for e in b.events() {
        let s = |key: &str| e.get(key).and_then(Value::as_str).unwrap_or("-").to_string();
        let retry = e.get("retryCount").map_or("-".to_string(), Value::to_string);
        let body = e.get("properties").or_else(|| e.get("traits")).map_or("{}".to_string(), Value::to_string);
        // The call and its subject: `purchase` for a track call, `screen Home`,
        // `identify`, `group team-3`, `alias <previous id>`.
        let what = match e.get("type").and_then(Value::as_str) {
            Some("screen") => format!("screen {}", s("name")),
            Some("identify") => "identify".to_string(),
            Some("group") => format!("group {}", s("groupId")),
            Some("alias") => format!("alias {}", s("previousId")),
            _ => s("event"),
        };
        let user = e.get("userId").and_then(Value::as_str).map_or(String::new(), |u| format!("  userId={u}"));
        let id = s("messageId");
        let dup = if seen_ids.insert(id.clone()) { "" } else { "  (duplicate)" };
        say!(
            "    {}  {}  messageId={}  anonymousId={}{}  retryCount={}  {}{}",
            s("timestamp"),
            what,
            id,
            s("anonymousId"),
            user,
            retry,
            body,
            dup
        );
        print_segment(e, &id, json);
    }
}

/// After an event's summary line: the event as JSON (`--json`), and a line
/// per way it differs from the Segment HTTP API's shapes.
fn print_segment(e: &Value, id: &str, json: bool) {
    if json {
        say!("      json {e}");
    }
    for v in collector::segment::violations(e) {
        say!("      SPEC VIOLATION messageId={id}: {v}");
    }
}

/// One line per store whose account changed since the last call.
fn print_accounts(now: &BTreeMap<String, StoreAccount>, last: &mut BTreeMap<String, StoreAccount>) {
    for (store, a) in now {
        if last.get(store) == Some(a) {
            continue;
        }
        let reasons: Vec<String> = a.dropped.iter().map(|(r, n)| format!("{r} {n}")).collect();
        say!(
            "  store {store}: received {} (seq {}); gaps {} ({}); duplicates {}; reported dropped {}{}; {}",
            a.received.len(),
            show_ranges(&a.ranges(), 8),
            show_ranges(&a.gaps(), 8),
            a.missing(),
            a.duplicates,
            a.reported_dropped(),
            if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) },
            if a.balanced() { "balanced" } else { "NOT balanced (in flight, or lost)" }
        );
    }
    *last = now.clone();
}

fn print_rejected(when: &str, r: &RequestLog) {
    if r.method.is_empty() {
        say!("{when}  (connection closed at accept: fault)");
    } else if r.status == 0 {
        say!("{when}  {} {}  -> no answer (fault)", r.method, r.path);
    } else {
        say!("{when}  {} {}  -> {} ({} event(s) not accepted)", r.method, r.path, r.status, r.event_count);
    }
}
