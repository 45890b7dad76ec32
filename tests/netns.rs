//! Network faults for real: the test collector sits behind a veth link in a
//! network namespace the test creates, with random packet loss (nftables) and
//! the link taken down in the middle of sending.
//!
//! Layout: namespace `atns<pid>` holds one end of a veth pair, 10.200.K.2/30;
//! the other end, 10.200.K.1/30, stays in the test's namespace (K from the
//! pid). The collector (tests/support/collector) binds 10.200.K.2 from a thread
//! that joined the namespace (`setns`); the tracker runs in the test's own
//! namespace and reaches it through the veth. Loss is an nftables rule inside
//! the namespace (`numgen random mod 100 < LOSS_PERCENT drop`, both
//! directions; this kernel has no netem). Nothing outside the namespace and the
//! veth pair is touched; both are deleted on drop, even when the test fails.
//!
//! Asserted: every hit tracked arrives at least once (deduplicated by
//! messageId), nothing is dropped, and dropping a tracker while the link is
//! down returns within its close timeout plus slack. Without root or
//! CAP_NET_ADMIN, `ip` or `nft`, the test prints "netns: skipped (<reason>)"
//! and passes; scripts/deps.sh installs iproute2 and nftables.

#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use attracker::{DropReason, OfflineMode, Tracker};
use common::collector::{Collector, Fault};
use common::{Drops, TempDir};

/// Packets dropped in each direction, in percent.
const LOSS_PERCENT: u32 = 20;
const CONNECT_TIMEOUT_MS: u32 = 1_500;
const REQUEST_TIMEOUT_MS: u32 = 3_000;
/// `Tracker`'s drop closes with the library's default close timeout.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(2_000);
/// How long the link stays down mid-transfer.
const LINK_DOWN: Duration = Duration::from_secs(3);
/// In the first phase the collector records each batch, then waits this long
/// before answering, so that the link surely goes down with a request in flight.
const ANSWER_DELAY: Duration = Duration::from_millis(250);
/// Bound on each wait for the hits to arrive: the longest backoff (32 s + 50 %)
/// twice over, plus time for the transfers.
const ARRIVAL_BOUND: Duration = Duration::from_secs(120);

extern "C" {
    // glibc; declared here rather than through the libc crate.
    fn setns(fd: i32, nstype: i32) -> i32;
}
const CLONE_NEWNET: i32 = 0x4000_0000;

/// Runs `ip`/`nft`; the error carries the command and its stderr.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The namespace and the veth pair; deleted on drop.
struct Link {
    ns: String,
    /// The veth end in the test's namespace, and its peer inside `ns`.
    host_if: String,
    ns_if: String,
    host_ip: String,
    ns_ip: String,
}

impl Link {
    /// Creates the namespace and the link, or says why it cannot.
    fn create() -> Result<Link, String> {
        run("ip", &["-V"]).map_err(|e| format!("no ip command ({e})"))?;
        run("nft", &["--version"]).map_err(|e| format!("no nft command ({e})"))?;
        let pid = std::process::id();
        let k = pid % 250 + 1;
        let link = Link {
            ns: format!("atns{pid}"),
            host_if: format!("ath{pid}"),
            ns_if: format!("atn{pid}"),
            host_ip: format!("10.200.{k}.1"),
            ns_ip: format!("10.200.{k}.2"),
        };
        if !run("ip", &["-4", "addr", "show", "to", &format!("10.200.{k}.0/30")])?.trim().is_empty() {
            return Err(format!("10.200.{k}.0/30 is already in use here"));
        }
        run("ip", &["netns", "add", &link.ns]).map_err(|e| format!("cannot create a namespace: {e}"))?;
        // From here on, `link` is dropped (and cleans up) on any error.
        let ns = link.ns.as_str();
        run("ip", &["link", "add", &link.host_if, "type", "veth", "peer", "name", &link.ns_if, "netns", ns])?;
        run("ip", &["addr", "add", &format!("{}/30", link.host_ip), "dev", &link.host_if])?;
        run("ip", &["link", "set", &link.host_if, "up"])?;
        run("ip", &["-n", ns, "addr", "add", &format!("{}/30", link.ns_ip), "dev", &link.ns_if])?;
        run("ip", &["-n", ns, "link", "set", &link.ns_if, "up"])?;
        run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        Ok(link)
    }

    /// Drops `percent` % of the packets entering and leaving the namespace.
    fn set_loss(&self, percent: u32) -> Result<(), String> {
        let nft = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &self.ns, "nft"];
            all.extend_from_slice(args);
            run("ip", &all)
        };
        nft(&["add", "table", "inet", "loss"])?;
        for hook in ["input", "output"] {
            let chain = format!("{{ type filter hook {hook} priority 0; policy accept; }}");
            nft(&["add", "chain", "inet", "loss", hook, &chain])?;
            let rule = format!("numgen random mod 100 < {percent} counter drop");
            nft(&["add", "rule", "inet", "loss", hook, &rule])?;
        }
        Ok(())
    }

    /// Packets the loss rules dropped so far.
    fn dropped_packets(&self) -> u64 {
        let listing = run("ip", &["netns", "exec", &self.ns, "nft", "list", "table", "inet", "loss"]);
        let listing = listing.unwrap_or_default();
        let counters = listing.split("packets ").skip(1);
        counters.filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok()).sum()
    }

    /// Sets the namespace's end of the link down or up: the test's end stays
    /// configured, its packets go nowhere (as when a Wi-Fi link drops).
    fn set_up(&self, up: bool) {
        run("ip", &["-n", &self.ns, "link", "set", &self.ns_if, if up { "up" } else { "down" }]).unwrap();
    }

    /// Starts the collector inside the namespace: a thread joins it, binds,
    /// and hands the collector back (its sockets stay in the namespace).
    fn start_collector(&self) -> Result<Collector, String> {
        let path = format!("/run/netns/{}", self.ns);
        let addr = format!("{}:0", self.ns_ip);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
            // SAFETY: setns only reads the descriptor, which `ns` keeps open; it
            // moves this thread alone, which ends right after binding.
            if unsafe { setns(ns.as_raw_fd(), CLONE_NEWNET) } != 0 {
                return Err(format!("setns: {}", std::io::Error::last_os_error()));
            }
            Collector::start_on(&addr).map_err(|e| format!("bind {addr}: {e}"))
        })
        .join()
        .map_err(|_| "the namespace thread panicked".to_string())?
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both.
        let _ = run("ip", &["link", "del", &self.host_if]);
        let _ = run("ip", &["netns", "del", &self.ns]);
    }
}

fn tracker(db: &std::path::Path, url: &str, drops: &Drops) -> Tracker {
    let mut cfg = common::config(db);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_endpoint(url).unwrap();
    cfg.set_timeouts_ms(CONNECT_TIMEOUT_MS, REQUEST_TIMEOUT_MS).unwrap();
    cfg.set_flush_threshold(25);
    cfg.set_flush_interval_ms(100);
    cfg.set_max_batch_events(25).unwrap();
    // Every failure is retried until delivered (hits are never dropped for
    // their attempts), the policy this test holds the tracker to.
    cfg.set_max_attempts(0);
    drops.attach(&mut cfg);
    Tracker::new(cfg).unwrap()
}

/// Tracks events `{"n": n}` for each n of `range` (each committed on return).
fn track(t: &Tracker, range: std::ops::Range<usize>) {
    for n in range {
        t.track_event("netns", Some(&format!("{{\"n\":{n}}}")), None).unwrap();
    }
}

/// The distinct `n` received, and whether all of 0..n arrived within the bound.
fn wait_for_all(c: &Collector, n: usize) -> BTreeSet<u64> {
    let deadline = Instant::now() + ARRIVAL_BOUND;
    loop {
        let got: BTreeSet<u64> = c.events().iter().filter_map(|e| e["properties"]["n"].as_u64()).collect();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hits_cross_a_lossy_link_that_goes_down_and_close_stays_bounded() {
    let started = Instant::now();
    let link = match Link::create() {
        Ok(l) => l,
        Err(why) => {
            println!("netns: skipped ({why})");
            return;
        }
    };
    if let Err(why) = link.set_loss(LOSS_PERCENT) {
        println!("netns: skipped (nftables random loss does not work here: {why})");
        return;
    }
    let c = link.start_collector().expect("collector in the namespace");
    let url = format!("http://{}", c.addr());
    let dir = TempDir::new("netns");
    let drops = Drops::default();

    // 1. Through the lossy link, then the link goes down mid-transfer (a
    //    batch recorded, its answer not yet sent, more batches to go): 250
    //    hits, 50 of them tracked while it is down.
    c.set_fault(Fault::ProcessThenDelay(ANSWER_DELAY));
    let t = tracker(&dir.db(), &url, &drops);
    track(&t, 0..200);
    assert!(c.wait_for_requests(1, Duration::from_secs(30)), "a first request arrives");
    let at_down = (c.unique_message_ids().len(), c.requests().len(), c.open_connections());
    link.set_up(false);
    assert!(at_down.0 < 200, "the link went down with hits still to send: {at_down:?}");
    track(&t, 200..250);
    std::thread::sleep(LINK_DOWN);
    link.set_up(true);
    c.set_fault(Fault::None);
    let got = wait_for_all(&c, 250);
    assert_eq!(got.len(), 250, "not all arrived within {ARRIVAL_BOUND:?}: {} of 250", got.len());
    let recovered = started.elapsed();

    // 2. The link goes down with hits waiting; dropping the tracker (the
    //    default close timeout) must not hang on the dead link.
    track(&t, 250..300);
    link.set_up(false);
    std::thread::sleep(Duration::from_millis(200));
    let closing = Instant::now();
    drop(t);
    let close_took = closing.elapsed();
    let bound = CLOSE_TIMEOUT + Duration::from_secs(2);
    assert!(close_took <= bound, "drop took {close_took:?} with the link down (bound {bound:?})");

    // 3. Back up, a new tracker on the same store sends what was left.
    link.set_up(true);
    let t = tracker(&dir.db(), &url, &drops);
    let got = wait_for_all(&c, 300);
    assert_eq!(got, (0..300).collect::<BTreeSet<u64>>(), "every hit arrives at least once");
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.offline_count().unwrap() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(t.offline_count().unwrap(), 0, "the store empties once everything is acknowledged");
    t.close(CLOSE_TIMEOUT).unwrap();
    for reason in [DropReason::AttemptsExhausted, DropReason::Rejected, DropReason::Overflow] {
        assert!(drops.ids(reason).is_empty(), "{reason:?}: {:?}", drops.ids(reason));
    }
    assert!(drops.0.lock().unwrap().is_empty(), "nothing dropped: {:?}", drops.0.lock().unwrap());
    println!(
        "netns: 300 hits tracked, {} distinct arrived, {} duplicates, {} requests; {} packets dropped \
         by {LOSS_PERCENT}% loss each way; when the link went down {} hits had arrived in {} \
         requests, {} connection(s) open; all of the first 250 in {:.1} s; drop with the link \
         down took {} ms; total {:.1} s",
        c.unique_message_ids().len(),
        c.duplicates(),
        c.requests().len(),
        link.dropped_packets(),
        at_down.0,
        at_down.1,
        at_down.2,
        recovered.as_secs_f64(),
        close_took.as_millis(),
        started.elapsed().as_secs_f64()
    );
}
