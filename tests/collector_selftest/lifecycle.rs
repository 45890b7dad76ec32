//! Starting on an address, waiting for what arrives, and stopping (drop is
//! bounded and closes the port).

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::client::{batch, client, get, post_with, SHORT};
use crate::collector::{Collector, Fault};

#[test]
fn start_on_a_given_address() {
    let c = Collector::start_on("127.0.0.1:0").unwrap();
    let taken = c.addr().to_string();
    assert_eq!(c.url(), format!("http://{taken}"));
    assert!(Collector::start_on(&taken).is_err(), "the port is in use");
    let mut e = client();
    assert_eq!(get(&mut e, &format!("{}/x", c.url())).unwrap().code, 200);
}

#[test]
fn drop_is_bounded_and_closes_the_port() {
    let c = Collector::start();
    let addr = c.addr();
    let url = c.url();
    // An idle connection that never sends anything...
    let idle = TcpStream::connect(addr).unwrap();
    // ...and a request stuck in a long Delay.
    c.set_fault(Fault::Delay(Duration::from_secs(30)));
    let stuck = std::thread::spawn(move || {
        let mut e = client();
        post_with(
            &mut e,
            &format!("{url}/v1/batch"),
            &batch(&[("a", "x1")]),
            &["Content-Type: application/json"],
        )
        .map(|r| r.code)
    });
    assert!(c.wait_for_requests(1, SHORT));
    assert_eq!(c.connections(), 2);
    let t0 = Instant::now();
    drop(c);
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert!(stuck.join().unwrap().is_err(), "the stuck client is cut off");
    let mut idle = idle;
    idle.set_read_timeout(Some(SHORT)).unwrap();
    let mut buf = [0u8; 1];
    assert!(matches!(idle.read(&mut buf), Ok(0) | Err(_)));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

#[test]
fn wait_for_events_times_out_when_nothing_arrives() {
    let c = Collector::start();
    let t0 = Instant::now();
    assert!(!c.wait_for_events(1, Duration::from_millis(300)));
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(300) && took < SHORT, "{took:?}");
    assert!(!c.wait_for_hits(1, Duration::from_millis(20)));
    assert!(!c.wait_for_requests(1, Duration::from_millis(20)));
    assert!(c.wait_for_requests(0, Duration::ZERO));
}

#[test]
fn wait_for_events_wakes_when_they_arrive() {
    let c = Collector::start();
    let url = c.url();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let mut e = client();
        let r = post_with(
            &mut e,
            &format!("{url}/v1/batch"),
            &batch(&[("a", "w1"), ("b", "w2")]),
            &["Content-Type: application/json"],
        );
        r.map(|r| r.code)
    });
    let t0 = Instant::now();
    assert!(c.wait_for_events(2, Duration::from_secs(3)));
    assert!(t0.elapsed() < SHORT);
    assert!(c.wait_for_requests(1, Duration::ZERO));
    assert_eq!(sender.join().unwrap().unwrap(), 200);
}
