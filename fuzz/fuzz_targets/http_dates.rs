//! The HTTP date parser (`Date`, `Retry-After` as a date) and the `Retry-After`
//! reading of the retry policy, on server-controlled text.
//!
//! Input: a status selector, `now_ms`, date fields for a well-formed date, then
//! the header text (UTF-8; other inputs test only the well-formed date).
//!
//! What must hold: no panic (overflow checks are on, `cargo fuzz run -a`); a
//! parsed date is whole seconds; a wait is at most the one-hour cap and only on
//! 429 and 503; a well-formed IMF-fixdate parses to the instant it names
//! (checked against the ISO-8601 formatter) and the wait for it matches.

#![no_main]

use std::time::Duration;

use attracker::testing::{iso8601_ms, parse_http_date, retry_after};
use attracker_fuzz::Input;
use libfuzzer_sys::fuzz_target;

const CAP: Duration = Duration::from_secs(3600);
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn check_header(value: &str, now_ms: i64) {
    if let Some(ms) = parse_http_date(value) {
        assert_eq!(ms.rem_euclid(1000), 0, "{value:?} parsed to a fraction of a second");
        assert!(ms >= 0, "{value:?} parsed to a date before 1970");
    }
    // Retry-After is honoured on any status (a wait, not an attempt).
    if let Some(w) = retry_after(Some(value), now_ms) {
        assert!(w <= CAP, "{value:?} asks for {w:?}, past the cap");
    }
    assert_eq!(retry_after(None, now_ms), None);
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let now_ms = input.i64();
    // A well-formed IMF-fixdate from the fuzzer's fields, in the years a
    // server may name (1970-9999; others are absurd and ignored).
    let (y, m) = (1970 + input.u32() % 8030, input.u32() % 12 + 1);
    let d = input.u32() % days_in_month(y, m) + 1;
    let (h, mi, s) = (input.u32() % 24, input.u32() % 60, input.u32() % 60);
    let date = format!(
        "{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        DAYS[(d % 7) as usize],
        MONTHS[m as usize - 1]
    );
    let at = parse_http_date(&date).unwrap_or_else(|| panic!("a well-formed date was refused: {date}"));
    let iso = iso8601_ms(at);
    assert_eq!(
        iso,
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z"),
        "{date} parsed to another instant"
    );
    let want = Duration::from_millis(at.saturating_sub(now_ms).max(0) as u64).min(CAP);
    assert_eq!(retry_after(Some(&date), now_ms), Some(want), "the wait for {date} at {now_ms}");
    check_header(&date, now_ms);

    if let Ok(text) = std::str::from_utf8(input.rest()) {
        check_header(text, now_ms);
        let _ = iso8601_ms(now_ms);
    }
});
