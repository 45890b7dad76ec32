//! The faults: statuses, `Retry-After`, resets, connections closed at accept,
//! delays before and after processing, and the scripted sequence.

use std::time::{Duration, Instant, SystemTime};

use crate::client::{batch, client, get, post, SHORT};
use crate::collector::{http_date, Collector, Fault};

#[test]
fn fault_status_answers_without_recording() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("a", "s1"), ("b", "s2")]);
    for status in [400u16, 401, 403, 413, 500, 503] {
        c.set_fault(Fault::Status(status));
        let r = post(&mut e, &c, &body).unwrap();
        assert_eq!(r.code, u32::from(status));
        assert!(r.header("retry-after").is_none());
    }
    assert!(c.batches().is_empty());
    assert!(c.events().is_empty());
    let reqs = c.requests();
    assert_eq!(reqs.len(), 6);
    assert!(reqs.iter().all(|r| r.event_count == 2 && r.path == "/v1/batch"));
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![400, 401, 403, 413, 500, 503]);

    c.set_fault(Fault::None);
    assert_eq!(post(&mut e, &c, &body).unwrap().code, 200);
    assert_eq!(c.batches().len(), 1);
    // Faults apply to GETs too.
    c.set_fault(Fault::Status(500));
    assert_eq!(get(&mut e, &format!("{}/h", c.url())).unwrap().code, 500);
    assert!(c.hits().is_empty());
    assert_eq!(c.connections(), 1);
}

#[test]
fn fault_retry_after_sends_the_header() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("a", "ra1")]);
    c.set_fault(Fault::RetryAfter(429, "2".into()));
    let r = post(&mut e, &c, &body).unwrap();
    assert_eq!(r.code, 429);
    assert_eq!(r.header("retry-after"), Some("2"));

    let when = http_date(SystemTime::now() + Duration::from_secs(3));
    c.set_fault(Fault::RetryAfter(503, when.clone()));
    let r = post(&mut e, &c, &body).unwrap();
    assert_eq!(r.code, 503);
    assert_eq!(r.header("retry-after"), Some(when.as_str()));
    assert!(c.batches().is_empty());
}

#[test]
fn fault_reset_gives_a_curl_error() {
    let c = Collector::start();
    let mut e = client();
    c.set_fault(Fault::Reset);
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "rs1")])).err().expect("an error");
    assert!(t0.elapsed() < SHORT, "{:?}", t0.elapsed());
    assert!(!err.is_operation_timedout(), "{err}");
    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 0);
    assert_eq!(reqs[0].method, "POST");
    assert!(c.batches().is_empty());
    // A GET is reset too.
    assert!(get(&mut e, &format!("{}/h", c.url())).is_err());
    assert!(c.hits().is_empty());
}

#[test]
fn fault_accept_then_close_gives_a_curl_error() {
    let c = Collector::start();
    let mut e = client();
    c.set_fault(Fault::AcceptThenClose);
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "ac1")])).err().expect("an error");
    assert!(t0.elapsed() < SHORT, "{:?}", t0.elapsed());
    assert!(!err.is_operation_timedout(), "{err}");
    assert!(!err.is_couldnt_connect(), "{err}");
    assert_eq!(c.connections(), 1);
    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].status, reqs[0].method.as_str()), (0, ""));
    assert!(c.batches().is_empty());
}

#[test]
fn accept_then_close_on_a_kept_alive_connection() {
    // The fault waits for a new connection: the open one is closed under the
    // client, which reconnects (libcurl retries a dead reused connection once)
    // and meets the fault there.
    let c = Collector::start();
    let mut e = client();
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kc1")])).unwrap().code, 200);
    c.push_faults(vec![Fault::AcceptThenClose]);
    assert!(post(&mut e, &c, &batch(&[("a", "kc2")])).is_err());
    assert_eq!(c.connections(), 2);
    // Consumed once: the next request goes through.
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kc3")])).unwrap().code, 200);
    assert_eq!(c.connections(), 3);
    let ids = c.unique_message_ids();
    assert!(ids.contains("kc1") && ids.contains("kc3") && !ids.contains("kc2"));
}

#[test]
fn fault_delay_delays_then_records() {
    let c = Collector::start();
    let mut e = client();
    c.set_fault(Fault::Delay(Duration::from_millis(300)));
    let t0 = Instant::now();
    let r = post(&mut e, &c, &batch(&[("a", "dl1")])).unwrap();
    let took = t0.elapsed();
    assert_eq!(r.code, 200);
    assert!(took >= Duration::from_millis(300) && took < SHORT, "{took:?}");
    assert_eq!(c.batches().len(), 1);
    assert_eq!(c.requests()[0].status, 200);
}

#[test]
fn fault_delay_with_client_timeout_records_nothing() {
    let c = Collector::start();
    let mut e = client();
    e.timeout(Duration::from_millis(200)).unwrap();
    c.set_fault(Fault::Delay(Duration::from_millis(600)));
    let err = post(&mut e, &c, &batch(&[("a", "dt1")])).err().expect("a timeout");
    assert!(err.is_operation_timedout(), "{err}");
    // The request is logged at arrival; after the delay the server finds the
    // client gone and records nothing.
    assert!(c.wait_for_requests(1, Duration::ZERO));
    thread_sleep_until(Instant::now() + Duration::from_millis(600));
    assert!(c.batches().is_empty());
    assert_eq!(c.requests()[0].status, 0);
}

fn thread_sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

#[test]
fn fault_process_then_delay_records_even_when_the_client_times_out() {
    let c = Collector::start();
    let mut e = client();
    e.timeout(Duration::from_millis(200)).unwrap();
    c.set_fault(Fault::ProcessThenDelay(Duration::from_millis(800)));
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "pd1")])).err().expect("a timeout");
    assert!(err.is_operation_timedout(), "{err}");
    assert!(t0.elapsed() < Duration::from_millis(700));
    // Recorded although the client saw a failure: the ambiguous outcome.
    assert_eq!(c.batches().len(), 1);
    assert!(c.wait_for_events(1, Duration::ZERO));
    assert_eq!(c.requests()[0].status, 200);

    // Without a client timeout it is just slow.
    e.timeout(Duration::from_secs(5)).unwrap();
    c.set_fault(Fault::ProcessThenDelay(Duration::from_millis(200)));
    let t0 = Instant::now();
    assert_eq!(post(&mut e, &c, &batch(&[("a", "pd2")])).unwrap().code, 200);
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert_eq!(c.batches().len(), 2);
}

#[test]
fn push_faults_apply_in_order_then_fall_back() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("a", "pf1")]);
    c.push_faults(vec![Fault::Status(500), Fault::RetryAfter(503, "1".into()), Fault::Status(400)]);
    let codes: Vec<u32> = (0..5).map(|_| post(&mut e, &c, &body).unwrap().code).collect();
    assert_eq!(codes, vec![500, 503, 400, 200, 200]);

    c.set_fault(Fault::Status(502));
    c.push_faults(vec![Fault::None]);
    c.push_faults(vec![Fault::Status(429)]); // appends
    let codes: Vec<u32> = (0..4).map(|_| post(&mut e, &c, &body).unwrap().code).collect();
    assert_eq!(codes, vec![200, 429, 502, 502]);

    // On a fresh connection a scripted Reset costs the client one request.
    c.set_fault(Fault::None);
    let mut fresh = client();
    c.push_faults(vec![Fault::Reset]);
    assert!(post(&mut fresh, &c, &body).is_err());
    assert_eq!(post(&mut fresh, &c, &body).unwrap().code, 200);
    assert_eq!(c.batches().len(), 4);
    assert_eq!(c.duplicates(), 3);
}

#[test]
fn reset_on_a_kept_alive_connection_is_retried_by_libcurl() {
    // libcurl resends, once and silently, a request that got no byte back on
    // a *reused* connection. So one scripted Reset after keep-alive is
    // invisible to a libcurl client (nothing recorded, no error): the
    // collector logs the reset request, then the resend on a new connection.
    // Two Resets make the failure visible.
    let c = Collector::start();
    let mut e = client();
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kr1")])).unwrap().code, 200);
    c.push_faults(vec![Fault::Reset]);
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kr2")])).unwrap().code, 200);
    let log: Vec<(u16, u64)> = c.requests().iter().map(|r| (r.status, r.connection)).collect();
    assert_eq!(log, vec![(200, 1), (0, 1), (200, 2)]);
    assert_eq!(c.duplicates(), 0);

    c.push_faults(vec![Fault::Reset, Fault::Reset]);
    assert!(post(&mut e, &c, &batch(&[("a", "kr3")])).is_err());
    assert_eq!(c.requests().len(), 5);
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kr3")])).unwrap().code, 200);
    assert_eq!(c.unique_message_ids().len(), 3);
}
