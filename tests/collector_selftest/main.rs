//! Tests of the test collector itself (tests/support/collector/), with
//! libcurl (the `curl` crate) as the client, on loopback only. The delivery
//! tests trust the collector; these make that trust earned.
//!
//! One test binary; a module per subject: `recording` (what is recorded and
//! what is rejected), `http` (the protocol on the wire and connections),
//! `faults`, `config` (the served remote configuration), `dates` (the `Date`
//! header and its skew), `hostile` (the hostile answers), `lifecycle`
//! (starting, waiting, stopping). `client` is the small curl client they share.

#[path = "../common/mod.rs"]
mod common;
use common::collector;

mod client;

mod config;
mod dates;
mod faults;
mod hostile;
mod http;
mod lifecycle;
mod recording;
