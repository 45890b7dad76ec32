//! attracker's benchmark suite: every figure beside a baseline measured in the
//! same run (raw SQLite with the same schema, pragmas and prepared statements),
//! through the C ABI a host calls.
//!
//! ```text
//! cargo bench --bench attracker              # full run (a few minutes)
//! cargo bench --bench attracker -- --quick   # smaller sizes, under a minute
//! options: --json PATH (default target/bench/attracker.json), --only a,b
//!          (enqueue, full, bulk, outage, idle, storage, footprint), --scratch DIR
//! ```
//!
//! Method and the last run's table: BENCHMARKS.md.

mod bulk;
mod capi;
#[path = "../../tests/support/collector/mod.rs"]
mod collector;
mod enqueue;
mod floor;
mod footprint;
mod fsync;
mod raw;
mod report;
mod storage;
mod system;
mod wire;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use attracker::ffi::{AT_SYNCHRONOUS_FULL, AT_SYNCHRONOUS_NORMAL};
use report::{human, median, percentile, Figure, Target};
use serde_json::{json, Value};

const MIB: f64 = 1024.0 * 1024.0;

struct Plan {
    quick: bool,
    runs: usize,
    batched: usize,
    per_txn: usize,
    per_thread: usize,
    bulk: usize,
    bulk_runs: usize,
    outage: Duration,
    idle: Duration,
}

const FULL: Plan = Plan {
    quick: false,
    runs: 3,
    batched: 500_000,
    per_txn: 20_000,
    per_thread: 5_000,
    bulk: 1_000_000,
    bulk_runs: 3,
    outage: Duration::from_secs(60),
    idle: Duration::from_secs(10),
};

const QUICK: Plan = Plan {
    quick: true,
    runs: 1,
    batched: 100_000,
    per_txn: 5_000,
    per_thread: 1_250,
    bulk: 200_000,
    bulk_runs: 1,
    outage: Duration::from_secs(5),
    idle: Duration::from_secs(2),
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let mut plan = &FULL;
    let mut json_path = None;
    let mut only: Option<Vec<String>> = None;
    let mut scratch = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => plan = &QUICK,
            "--json" => json_path = it.next().map(PathBuf::from),
            "--only" => only = it.next().map(|s| s.split(',').map(str::to_owned).collect()),
            "--scratch" => scratch = it.next().map(PathBuf::from),
            "--bench" => {} // passed by `cargo bench`
            other => {
                eprintln!(
                    "unknown argument {other}; see the comment at the top of benches/attracker/main.rs"
                );
                std::process::exit(2);
            }
        }
    }
    let target = target_dir();
    let json_path = json_path.unwrap_or_else(|| target.join("bench/attracker.json"));
    let scratch = scratch.unwrap_or_else(|| target.join("bench/scratch"));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("create the scratch directory");
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));

    let started = Instant::now();
    let mut figures = Vec::new();
    let mut batched_rate = None;
    if wanted("enqueue") {
        batched_rate = Some(enqueue_figures(plan, &scratch, &mut figures));
    }
    if wanted("full") {
        full_figures(plan, &scratch, &mut figures);
    }
    if wanted("bulk") {
        bulk_figures(plan, &scratch, &mut figures);
    }
    if wanted("outage") {
        outage_figures(plan, &scratch, batched_rate, &mut figures);
    }
    if wanted("idle") {
        let wakeups = system::idle(&scratch.join("idle.db"), plan.idle);
        let allowed = (plan.idle.as_secs_f64() / 30.0).ceil();
        figures.push(
            Figure::new(
                format!("idle wakeups in {} s", plan.idle.as_secs()),
                vec![wakeups as f64],
                "switches",
            )
            .target(Target::AtMost(allowed))
            .note(format!(
                "context switches of the attracker-* threads of a tracker with an empty store; \
                     the flush timer (30 s) allows {allowed}"
            )),
        );
    }
    if wanted("storage") {
        progress("storage");
        let n = if plan.quick { 20_000 } else { 100_000 };
        let s = storage::bytes_per_event(&scratch, n);
        figures.push(
            Figure::new("bytes per stored event", vec![s.tracker], "bytes")
                .against("schema 3 rows (no user id, no context)", s.schema3)
                .target(Target::RatioAtMost(1.15))
                .note(format!(
                    "{} events of 300-byte properties by an identified user with a {}-byte host context, \
                     database file after a checkpoint; the context copied into every row would take {:.0} \
                     bytes per event ({:.2}x)",
                    human(n as f64),
                    storage::CONTEXT.len(),
                    s.inline_context,
                    s.inline_context / s.schema3
                )),
        );
    }
    if wanted("footprint") {
        footprint::figures(plan.quick, &target, &scratch, &mut figures);
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let mode = if plan.quick { "quick" } else { "full" };
    println!("\nattracker benchmarks ({mode}, {:.0} s)\n", started.elapsed().as_secs_f64());
    println!("{}", report::table(&figures));
    let missed: Vec<&str> =
        figures.iter().filter(|f| f.met() == Some(false)).map(|f| f.name.as_str()).collect();
    if missed.is_empty() {
        println!("every target met");
    } else {
        println!("targets missed: {}", missed.join("; "));
    }
    match report::write_json(&json_path, mode, machine(), &figures) {
        Ok(()) => println!("results: {}", json_path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", json_path.display()),
    }
}

fn target_dir() -> PathBuf {
    // target/release/deps/attracker-HASH -> target
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("target"))
}

fn fresh(scratch: &Path, name: &str) -> PathBuf {
    let p = scratch.join(name);
    for s in ["", "-wal", "-shm", ".sender-lock"] {
        let _ = std::fs::remove_file(format!("{}{s}", p.display()));
    }
    p
}

fn progress(what: &str) {
    eprintln!("  {what}");
}

/// Returns the BATCHED figure (events/s) for the outage comparison.
fn enqueue_figures(plan: &Plan, scratch: &Path, figures: &mut Vec<Figure>) -> f64 {
    let (ty, props) = (capi::event_type(), capi::properties_300());
    let (ty, props) = (ty.to_str().unwrap(), props.to_str().unwrap());
    let mut raw_txn = Vec::new();
    let mut raw_group = Vec::new();
    let mut one = Vec::new();
    let mut eight = Vec::new();
    let mut batched = Vec::new();
    let (mut p50, mut p99, mut p999, mut max) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut p9999, mut waited, mut wal_peak, mut hwm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut one_p9999, mut one_max, mut killed, mut refused) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut floor_idle, mut floor_beside) = (Vec::new(), Vec::new());
    let (mut preempted, mut over_1ms) = (Vec::new(), Vec::new());
    let (mut one_cpu, mut one_sw, mut eight_cpu, mut eight_sw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 1..=plan.runs {
        progress(&format!("enqueue, run {run}/{}", plan.runs));
        raw_txn.push(raw::insert_rate(&fresh(scratch, "raw.db"), plan.per_txn, 1, ty, props));
        let r = enqueue::on_return(&fresh(scratch, "t.db"), 1, plan.per_txn, AT_SYNCHRONOUS_NORMAL);
        one_p9999.push(percentile(&r.latencies_ns, 0.9999) as f64 / 1000.0);
        one_max.push(*r.latencies_ns.last().unwrap() as f64 / 1000.0);
        one_cpu.push(r.cpu_us_per_event);
        one_sw.push(r.switches_per_event);
        one.push(r.rate);
        let r = enqueue::on_return(&fresh(scratch, "t.db"), 8, plan.per_thread, AT_SYNCHRONOUS_NORMAL);
        eight_cpu.push(r.cpu_us_per_event);
        eight_sw.push(r.switches_per_event);
        eight.push(r.rate);
        raw_group.push(raw::insert_rate(&fresh(scratch, "raw.db"), plan.batched, 256, ty, props));
        let db = fresh(scratch, "t.db");
        let b = bulk::run_child(&["batched", &db.display().to_string(), &plan.batched.to_string()]);
        batched.push(b["rate"].as_f64().unwrap());
        // The machine's floor over as long as that run lasted.
        let lasted = Duration::from_secs_f64(plan.batched as f64 / b["rate"].as_f64().unwrap());
        floor_idle.push(floor::longest_gap_us(lasted, 0));
        floor_beside.push(floor::longest_gap_us(lasted, 1));
        let us = |key: &str| b[key].as_f64().unwrap() / 1000.0;
        p50.push(us("p50_ns"));
        p99.push(us("p99_ns"));
        p999.push(us("p999_ns"));
        p9999.push(us("p9999_ns"));
        max.push(us("max_ns"));
        preempted.push(b["preempted"].as_f64().unwrap());
        over_1ms.push(b["over_1ms"].as_f64().unwrap());
        waited.push(b["longest_wait_us"].as_f64().unwrap());
        refused.push(b["refused"].as_f64().unwrap());
        wal_peak.push(b["wal_peak_bytes"].as_f64().unwrap() / MIB);
        hwm.push(b["hwm_kib"].as_f64().unwrap() / 1024.0);
        killed.push(enqueue::killed_burst(&fresh(scratch, "t.db"), plan.batched) as f64 / MIB);
    }
    fresh(scratch, "raw.db");
    fresh(scratch, "t.db");
    let batched_rate = median(&batched);
    figures.push(
        Figure::new("enqueue BATCHED, 1 thread", batched, "events/s")
            .against("raw group commit, 256 rows/txn", median(&raw_group))
            .target(Target::AtLeast(250_000.0))
            .target(Target::RatioAtLeast(0.65))
            .note(format!(
                "{} events of 300-byte properties per run, from the first call until all are committed",
                human(plan.batched as f64)
            )),
    );
    figures.push(Figure::new("BATCHED call latency p50", p50, "us"));
    figures.push(Figure::new("BATCHED call latency p99", p99, "us").target(Target::AtMost(20.0)));
    figures.push(Figure::new("BATCHED call latency p99.9", p999, "us").target(Target::AtMost(200.0)));
    figures.push(Figure::new("BATCHED call latency p99.99", p9999, "us"));
    figures.push(
        Figure::new("BATCHED call latency max", max, "us").target(Target::AtMost(1000.0)).note(
            "the slowest of all calls of a run: waiting for room in the queue, or the thread descheduled",
        ),
    );
    figures.push(Figure::new("BATCHED calls over 1 ms", over_1ms, "calls"));
    figures.push(Figure::new("BATCHED calling thread preempted", preempted, "times").note(
        "involuntary context switches of the tracking thread during the run (getrusage RUSAGE_THREAD): \
         a call it lands in lasts a scheduler slice",
    ));
    figures.push(Figure::new("machine floor: longest gap of a spinning thread", floor_idle, "us").note(
        "a thread that only reads the clock, for as long as the BATCHED run lasted: the longest it went \
         unscheduled (a virtual machine's host descheduling it); no call can do better than its thread",
    ));
    figures.push(
        Figure::new("machine floor, beside one busy thread", floor_beside, "us")
            .note("the same beside a thread spinning on CPU work (the store's writer in CPU terms)"),
    );
    figures.push(
        Figure::new("BATCHED longest wait for queue room", waited, "us").target(Target::AtMost(1000.0)).note(
            "at_stats.longest_wait_us: the longest any call was held back, paced or at the in-memory bound",
        ),
    );
    figures.push(
        Figure::new("BATCHED calls refused (queue full a whole window)", refused, "calls")
            .target(Target::AtMost(0.0)),
    );
    figures.push(
        Figure::new("BATCHED peak RSS", hwm, "MiB")
            .target(Target::AtMost(20.0))
            .note("VmHWM of a child process that tracked the run's events, 300-byte properties"),
    );
    figures.push(
        Figure::new("BATCHED WAL high-water mark", wal_peak, "MiB")
            .target(Target::AtMost(4.0))
            .note("at_stats.wal_peak_bytes during the burst"),
    );
    figures.push(Figure::new("store on disk after a kill mid-burst", killed, "MiB").note(
        "database, -wal and -shm files after SIGKILL half way through a BATCHED burst of the run's size",
    ));
    figures.push(Figure::new("ON_RETURN call latency p99.99", one_p9999, "us"));
    figures.push(Figure::new("ON_RETURN call latency max", one_max, "us"));
    let one_rate = median(&one);
    figures.push(
        Figure::new("enqueue ON_RETURN, 1 thread", one, "events/s")
            .against("raw, one txn per row", median(&raw_txn))
            .target(Target::RatioAtLeast(0.8)),
    );
    let raw_txn_rate = median(&raw_txn);
    let eight_rate = median(&eight);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = cores as f64 * 1e6 / median(&eight_cpu);
    figures.push(
        Figure::new("enqueue ON_RETURN, 8 threads", eight, "events/s")
            .against("ON_RETURN, 1 thread", one_rate)
            .target(Target::RatioAtLeast(3.0))
            .note(format!(
                "{:.2}x raw one txn per row. CPU per event (whole process): 1 thread {:.1} us, 8 threads \
                 {:.1} us; context switches per event: {:.2} and {:.2}. Group commit saves CPU per event, \
                 but {cores} cores at {:.1} us per event carry at most {} events/s ({:.2}x one thread) even \
                 fully busy: each of the 8 callers waits for its group and is woken after it, while a lone \
                 caller commits on its own thread and its checkpoints use an idle core",
                eight_rate / raw_txn_rate,
                median(&one_cpu),
                median(&eight_cpu),
                median(&one_sw),
                median(&eight_sw),
                median(&eight_cpu),
                human(bound),
                bound / one_rate
            )),
    );
    batched_rate
}

/// ON_RETURN with `synchronous = FULL`: every call returns once its hit is on
/// disk, so one `fdatasync` is its floor, measured beside it.
fn full_figures(plan: &Plan, scratch: &Path, figures: &mut Vec<Figure>) {
    let calls = if plan.quick { 2_000 } else { 5_000 };
    let (mut sync_p50, mut one_p50, mut one, mut eight) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut one_cpu, mut normal_p50, mut raw_p50) = (Vec::new(), Vec::new(), Vec::new());
    let (ty, props) = (capi::event_type(), capi::properties_300());
    for run in 1..=plan.runs {
        progress(&format!("ON_RETURN with synchronous=FULL, run {run}/{}", plan.runs));
        let s = fsync::frame_sync_ns(&fresh(scratch, "frames"), calls);
        sync_p50.push(percentile(&s, 0.5) as f64 / 1000.0);
        let r = raw::full_commit_ns(
            &fresh(scratch, "raw.db"),
            calls,
            ty.to_str().unwrap(),
            props.to_str().unwrap(),
        );
        raw_p50.push(percentile(&r, 0.5) as f64 / 1000.0);
        let r = enqueue::on_return(&fresh(scratch, "t.db"), 1, calls, AT_SYNCHRONOUS_FULL);
        one_p50.push(percentile(&r.latencies_ns, 0.5) as f64 / 1000.0);
        one_cpu.push(r.cpu_us_per_event);
        one.push(r.rate);
        let r = enqueue::on_return(&fresh(scratch, "t.db"), 1, calls, AT_SYNCHRONOUS_NORMAL);
        normal_p50.push(percentile(&r.latencies_ns, 0.5) as f64 / 1000.0);
        let r = enqueue::on_return(&fresh(scratch, "t.db"), 8, calls / 2, AT_SYNCHRONOUS_FULL);
        eight.push(r.rate);
    }
    fresh(scratch, "t.db");
    fresh(scratch, "raw.db");
    let floor = median(&sync_p50);
    let raw_floor = median(&raw_p50);
    figures.push(
        Figure::new("raw SQLite FULL commit p50", raw_p50, "us")
            .against("one frame written + fdatasync, p50", floor)
            .note(
                "the same row inserted by raw SQLite (same schema and statement), one transaction per row, \
                 synchronous=FULL: SQLite's own cost of one durable row on this disk, with no tracker",
            ),
    );
    let one_p50_median = median(&one_p50);
    figures.push(
        Figure::new("ON_RETURN FULL call latency p50", one_p50, "us")
            .against("one frame written + fdatasync, p50", floor)
            .target(Target::RatioAtMost(1.1))
            .note(format!(
                "{calls} calls, 300-byte properties; the baseline writes a 4,120-byte WAL frame in place \
                 in a 4 MiB file and fdatasyncs it, {calls} times, in the same directory. CPU per call \
                 (whole process) {:.1} us; the same calls with synchronous=NORMAL: p50 {:.1} us; \
                 {:.2}x raw SQLite's FULL commit p50",
                median(&one_cpu),
                median(&normal_p50),
                one_p50_median / raw_floor
            )),
    );
    let one_rate = median(&one);
    figures.push(
        Figure::new("enqueue ON_RETURN FULL, 8 threads", eight, "events/s")
            .against("ON_RETURN FULL, 1 thread", one_rate)
            .target(Target::RatioAtLeast(4.0))
            .note("callers that commit together share one fdatasync (group commit)"),
    );
}

fn bulk_figures(plan: &Plan, scratch: &Path, figures: &mut Vec<Figure>) {
    let n = plan.bulk;
    let label = if n >= 1_000_000 { format!("{}M", n / 1_000_000) } else { format!("{}k", n / 1000) };
    let (ty, props) = (capi::event_type(), capi::properties_300());
    progress(&format!("building a store of {label} hits"));
    let master = fresh(scratch, "bulk-master.db");
    bulk::build(&master, n);
    let work = fresh(scratch, "bulk.db");

    let (mut start, mut count, mut page, mut rss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut wal = Vec::new();
    let (mut raw_drain, mut json_rate, mut gzip_rate) = (Vec::new(), Vec::new(), Vec::new());
    let mut requests = 0;
    let mut cpu: Vec<(String, Vec<f64>)> = Vec::new();
    for run in 1..=plan.bulk_runs {
        progress(&format!("{label} store, run {run}/{}", plan.bulk_runs));
        // Raw baseline: a store of the same size filled without the tracker, drained.
        let raw_db = fresh(scratch, "raw-bulk.db");
        raw::insert_rate(&raw_db, n, 1024, ty.to_str().unwrap(), props.to_str().unwrap());
        raw_drain.push(raw::drain_rate(&raw_db).0);
        fresh(scratch, "raw-bulk.db");

        for gzip in [false, true] {
            bulk::copy_store(&master, &work);
            bulk::crash_mid_send(&work);
            let r = bulk::run_child(&["inspect", work.to_str().unwrap()]);
            start.push(r["start_ms"].as_f64().unwrap());
            count.push(r["count_ms"].as_f64().unwrap());
            page.push(r["page_ms"].as_f64().unwrap());
            // A fresh collector: the copies carry the same messageIds.
            let collector = collector::Collector::start();
            collector.set_counting(true);
            let url = collector.url();
            let enc = if gzip { "gzip" } else { "json" };
            let d = bulk::run_child(&["drain", work.to_str().unwrap(), &url, enc]);
            let sent = d["sent"].as_u64().unwrap();
            assert_eq!(sent, n as u64, "every stored hit delivered: {d}");
            assert_eq!(d["left"].as_u64(), Some(0), "{d}");
            assert_eq!(collector.unique_events(), n, "the collector has every event");
            assert_eq!(collector.duplicates(), 0, "and each once");
            requests = d["requests"].as_u64().unwrap();
            if !gzip {
                for (name, secs) in d["cpu_secs"].as_object().into_iter().flatten() {
                    let at = cpu.iter().position(|(n, _)| n == name).unwrap_or_else(|| {
                        cpu.push((name.clone(), Vec::new()));
                        cpu.len() - 1
                    });
                    cpu[at].1.push(secs.as_f64().unwrap_or(0.0));
                }
            }
            rss.push(d["vm_hwm_kib"].as_f64().unwrap() / 1024.0);
            wal.push(d["wal_peak_kib"].as_f64().unwrap() / 1024.0);
            if gzip { &mut gzip_rate } else { &mut json_rate }.push(d["rate"].as_f64().unwrap());
        }
    }
    fresh(scratch, "bulk.db");
    fresh(scratch, "bulk-master.db");
    let raw = median(&raw_drain);
    cpu.sort_by(|a, b| median(&b.1).total_cmp(&median(&a.1)));
    let cpu: Vec<String> = cpu.iter().map(|(name, s)| format!("{name} {:.2} s", median(s))).collect();
    figures.push(
        Figure::new(format!("drain {label}, JSON"), json_rate, "events/s")
            .against("raw select+delete 500/txn", raw)
            .target(Target::AtLeast(150_000.0))
            .target(Target::RatioAtLeast(0.6))
            .note(format!(
                "one at_offline_dispatch in a child process to the loopback test collector in the parent \
                 (batches of 500, {requests} requests, two in flight); every event arrived once; CPU of \
                 the child's threads (medians, whole run incl. start): {}",
                cpu.join(", ")
            )),
    );
    figures.push(
        Figure::new(format!("drain {label}, gzip"), gzip_rate, "events/s")
            .against("raw select+delete 500/txn", raw)
            .target(Target::AtLeast(150_000.0)),
    );
    figures.push(
        Figure::new(format!("peak RSS dispatching {label}"), rss, "MiB")
            .target(Target::AtMost(32.0))
            .note("VmHWM of the child process that opened the store and dispatched it whole"),
    );
    figures.push(
        Figure::new(format!("WAL high-water mark dispatching {label}"), wal, "MiB")
            .target(Target::AtMost(5.0))
            .note(
                "at_stats.wal_peak_bytes of the drain, the store's background integrity check running beside it \
                 (bound: the 640-page hard checkpoint mark, the 256 pages a pass of the check lets the log grow, \
                 one settlement of 2,000 hits; before the check gave way: 8-14 MiB)",
            ),
    );
    figures.push(
        Figure::new(format!("at_tracker_new, {label} stored"), start, "ms")
            .target(Target::AtMost(100.0))
            .note(format!(
            "a new process opening the store with {} rows left in flight (crash recovery); page cache warm",
            bulk::IN_FLIGHT
        )),
    );
    figures.push(
        Figure::new(format!("at_offline_count, {label} stored"), count, "ms").target(Target::AtMost(1.0)),
    );
    figures.push(
        Figure::new(format!("at_offline_get_page 100, {label} stored"), page, "ms")
            .target(Target::AtMost(1.0)),
    );
}

fn outage_figures(plan: &Plan, scratch: &Path, batched_rate: Option<f64>, figures: &mut Vec<Figure>) {
    let secs = plan.outage.as_secs();
    let limit = 1_000_000;
    progress(&format!("{secs} s at full speed, collector up"));
    let up = {
        let collector = collector::Collector::start();
        collector.set_counting(true);
        system::track_for(&fresh(scratch, "outage.db"), &collector.url(), plan.outage, limit)
    };
    progress(&format!("{secs} s at full speed, collector refusing connections"));
    let o = system::track_for(&fresh(scratch, "outage.db"), &system::refused_url(), plan.outage, limit);
    fresh(scratch, "outage.db");
    figures.push(
        Figure::new(format!("enqueue during a {secs} s outage"), vec![o.rate], "events/s")
            .against(format!("the same {secs} s, collector up"), up.rate)
            .target(Target::RatioAtLeast(0.9))
            .note(format!(
                "BATCHED, sending enabled, queue limit {} (reached in both runs: {} and {} oldest dropped as \
                 overflow; calls refused for a stalled store and retried: {} and {}){}",
                human(limit as f64),
                human(o.dropped_overflow as f64),
                human(up.dropped_overflow as f64),
                o.refused,
                up.refused,
                batched_rate.map_or(String::new(), |b| format!(
                    "; {:.2}x the enqueue BATCHED figure, whose store never reaches its limit",
                    o.rate / b
                )),
            )),
    );
    figures.push(
        Figure::new(
            format!("connection attempts in the {secs} s outage"),
            vec![o.attempts as f64],
            "attempts",
        )
        .target(Target::AtMost(o.bound as f64))
        .note(format!(
            "the backoff schedule (1 s doubling to 32 s, +0-50 % jitter) allows at most {}",
            o.bound
        )),
    );
}

fn child(args: &[String]) {
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["inspect", db] => bulk::child_inspect(Path::new(db)),
        ["drain", db, url, enc] => bulk::child_drain(Path::new(db), url, *enc == "gzip"),
        ["batched", db, n] => enqueue::child_batched(Path::new(db), n.parse().unwrap()),
        ["burst", db, n] => enqueue::child_burst(Path::new(db), n.parse().unwrap()),
        other => panic!("unknown child role {other:?}"),
    };
    println!("RESULT {result}");
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
    });
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        "sqlite": rusqlite::version(),
        "attracker": attracker::VERSION,
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    })
}
