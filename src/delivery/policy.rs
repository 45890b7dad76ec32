//! The retry policy: what an answer means, and how long to wait before the next
//! attempt. Pure functions of their inputs (time and jitter are passed in), so the
//! schedule is tested without sleeping.

use std::time::Duration;

use crate::delivery::dates::parse_http_date;

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
    /// 401 / 403: the key or pipeline is refused; drop what was sent, log ERROR.
    Unauthorized,
    /// Everything else (429, 5xx, unexpected codes): try again later.
    Retry,
}

pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        400 | 413 => Verdict::Refused,
        401 | 403 => Verdict::Unauthorized,
        _ => Verdict::Retry,
    }
}

/// Delay after the `failures`-th consecutive failure (1-based): 1 s, 2 s, 4 s …
/// capped at 32 s, plus `jitter` (0.0..=1.0) × 50 %.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = (BACKOFF_BASE * 2u32.pow(exp)).min(BACKOFF_CAP);
    base.mul_f64(1.0 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The wait a `Retry-After` value asks for, honoured on 429 and 503: seconds or
/// an HTTP date (relative to `now_ms`). `None` when absent or unreadable.
pub fn retry_after(status: u16, value: Option<&str>, now_ms: i64) -> Option<Duration> {
    if status != 429 && status != 503 {
        return None;
    }
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
    max_attempts != 0 && retry_count + 1 >= max_attempts
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
        for code in [301, 404, 408, 429, 500, 502, 503, 504] {
            assert_eq!(verdict(code), Verdict::Retry, "{code}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_on_429_and_503_only() {
        let now = 784_111_777_000;
        assert_eq!(retry_after(429, Some("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(503, Some("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(503, Some("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO),
            "past date"
        );
        assert_eq!(retry_after(500, Some("7"), now), None);
        assert_eq!(retry_after(429, Some("soon"), now), None);
        assert_eq!(retry_after(429, None, now), None);
        assert_eq!(retry_after(429, Some("999999"), now), Some(RETRY_AFTER_CAP));
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
