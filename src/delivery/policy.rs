//! The retry policy: what an answer means, and how long to wait before the next
//! attempt. Pure functions of their inputs (time and jitter are passed in), so the
//! schedule is tested without sleeping.

use std::time::Duration;

use crate::delivery::dates::parse_http_date;
use crate::delivery::transport::Cause;

/// Base of the exponential backoff.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest backoff before jitter.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(32);
/// Longest pause a server's Retry-After may impose.
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// What an HTTP status means for the hits that were sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: delivered; delete them.
    Delivered,
    /// 400 / 413: the payload is refused. A batch of several is bisected; a hit
    /// refused alone is dropped.
    Refused,
    /// 401 / 403: the key is refused; keep the hits, pause sending until a new
    /// key is set, log ERROR.
    Unauthorized,
    /// Something other than the collector answered: a redirect (3xx, never
    /// followed) or 511 (a captive portal), 407 (a proxy). No attempt counted.
    NotReached(Cause),
    /// Everything else (429, 5xx, unexpected codes): try again later.
    Retry,
}

pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        300..=399 | 511 => Verdict::NotReached(Cause::Portal),
        407 => Verdict::NotReached(Cause::Proxy),
        400 | 413 => Verdict::Refused,
        401 | 403 => Verdict::Unauthorized,
        _ => Verdict::Retry,
    }
}

/// A 2xx answer to a batch POST that is plainly not the collector's: an HTML
/// page (a captive portal's login page served in its place). The collector
/// answers JSON or nothing.
pub fn is_portal_page(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        let mime = v.split(';').next().unwrap_or("").trim();
        mime.eq_ignore_ascii_case("text/html") || mime.eq_ignore_ascii_case("application/xhtml+xml")
    })
}

/// Delay after the `failures`-th consecutive failure (1-based): 1 s, 2 s, 4 s …
/// capped at 32 s, plus `jitter` (0.0..=1.0) × 50 %.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = (BACKOFF_BASE * 2u32.pow(exp)).min(BACKOFF_CAP);
    base.mul_f64(1.0 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The wait a `Retry-After` value asks for, on any status: seconds or an HTTP
/// date (relative to `now_ms`), at most `RETRY_AFTER_CAP`. `None` when absent
/// or unreadable.
pub fn retry_after(value: Option<&str>, now_ms: i64) -> Option<Duration> {
    let value = value?.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = parse_http_date(value)?;
        Duration::from_millis(at.saturating_sub(now_ms).max(0) as u64)
    };
    Some(wait.min(RETRY_AFTER_CAP))
}

/// True when a hit that has failed `retry_count` times before, and now failed
/// again, has used up its attempts (`max_attempts` 0 = unlimited).
pub fn exhausted(retry_count: u32, max_attempts: u32) -> bool {
    max_attempts != 0 && retry_count.saturating_add(1) >= max_attempts
}

/// True when a hit created at `created_ms` that failed to send now is too old to
/// keep (`max_age_ms` 0 = no limit). Its age is measured on our clock and, when
/// the collector's clock is known (`clock_offset_ms`), on the collector's too:
/// both must agree, so a device clock moved forward by the user expires nothing.
pub fn expired(created_ms: i64, now_ms: i64, clock_offset_ms: Option<i64>, max_age_ms: u64) -> bool {
    if max_age_ms == 0 {
        return false;
    }
    let limit = i64::try_from(max_age_ms).unwrap_or(i64::MAX);
    let old = |now: i64| now.saturating_sub(created_ms) > limit;
    old(now_ms) && clock_offset_ms.is_none_or(|offset| old(now_ms.saturating_add(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_matches_the_seed_table() {
        let secs = |f, j| backoff(f, j).as_secs_f64();
        let table =
            [(1, 1.0, 1.5), (2, 2.0, 3.0), (3, 4.0, 6.0), (4, 8.0, 12.0), (5, 16.0, 24.0), (6, 32.0, 48.0)];
        for (failures, low, high) in table {
            assert_eq!(secs(failures, 0.0), low);
            assert_eq!(secs(failures, 1.0), high);
        }
        assert_eq!(secs(7, 0.0), 32.0, "capped");
        assert_eq!(secs(1000, 1.0), 48.0, "capped, jitter on top");
    }

    #[test]
    fn statuses_are_classified_as_the_seeds_say() {
        assert_eq!(verdict(200), Verdict::Delivered);
        assert_eq!(verdict(204), Verdict::Delivered);
        assert_eq!(verdict(400), Verdict::Refused);
        assert_eq!(verdict(413), Verdict::Refused);
        assert_eq!(verdict(401), Verdict::Unauthorized);
        assert_eq!(verdict(403), Verdict::Unauthorized);
        for code in [404, 408, 429, 500, 502, 503, 504] {
            assert_eq!(verdict(code), Verdict::Retry, "{code}");
        }
        for code in [301, 302, 303, 307, 308, 511] {
            assert_eq!(verdict(code), Verdict::NotReached(Cause::Portal), "{code}");
        }
        assert_eq!(verdict(407), Verdict::NotReached(Cause::Proxy));
    }

    #[test]
    fn an_html_answer_is_a_portal_page_and_json_or_nothing_is_not() {
        assert!(is_portal_page(Some("text/html")));
        assert!(is_portal_page(Some("Text/HTML; charset=utf-8")));
        assert!(is_portal_page(Some("application/xhtml+xml")));
        assert!(!is_portal_page(Some("application/json")));
        assert!(!is_portal_page(Some("text/plain")));
        assert!(!is_portal_page(None));
    }

    #[test]
    fn hits_expire_by_age_on_both_clocks() {
        let day = 86_400_000i64;
        let max = 30 * day as u64;
        assert!(!expired(0, 30 * day, None, max), "exactly the limit is kept");
        assert!(expired(0, 30 * day + 1, None, max));
        assert!(!expired(0, 400 * day, None, 0), "0 = no limit");
        // The device clock is a year ahead; the collector's clock says 10 days.
        assert!(!expired(0, 375 * day, Some(-365 * day), max));
        assert!(expired(0, 375 * day, Some(-300 * day), max));
        assert!(expired(i64::MIN, i64::MAX, Some(i64::MAX), max), "saturates, never overflows");
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = 784_111_777_000;
        assert_eq!(retry_after(Some("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("Sun, 06 Nov 1994 08:50:07 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(
            retry_after(Some("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO),
            "past date"
        );
        assert_eq!(retry_after(Some("soon"), now), None);
        assert_eq!(retry_after(None, now), None);
        assert_eq!(retry_after(Some("999999"), now), Some(RETRY_AFTER_CAP));
        assert_eq!(retry_after(Some("99999999999999999999999"), now), None, "not a u64");
        // The store treats a next attempt further ahead than any wait as stranded.
        let longest = Duration::from_millis(crate::store::ops::LONGEST_WAIT_MS as u64);
        assert!(longest > RETRY_AFTER_CAP && longest > backoff(u32::MAX, 1.0));
    }

    #[test]
    fn attempts_run_out_at_max_attempts_unless_unlimited() {
        assert!(!exhausted(0, 3));
        assert!(!exhausted(1, 3));
        assert!(exhausted(2, 3), "the third failure is the last");
        assert!(!exhausted(1_000_000, 0));
        assert!(exhausted(0, 1));
    }
}
