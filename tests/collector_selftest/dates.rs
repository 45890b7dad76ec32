//! Dates: the formats written (`http_date`, `iso8601`), and the `Date` header
//! of every answer, now or skewed.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{batch, client, get, get_with, post, read_response_head, Resp, SHORT};
use crate::collector::{self, http_date, Collector, Fault};
use crate::config::CONFIG_V1;

#[test]
fn http_date_format() {
    assert_eq!(http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(http_date(UNIX_EPOCH + Duration::from_secs(1_709_208_000)), "Thu, 29 Feb 2024 12:00:00 GMT");
    assert_eq!(
        collector::iso8601(UNIX_EPOCH + Duration::from_millis(1_795_366_000_123)),
        "2026-11-22T16:46:40.123Z"
    );
}

/// Seconds since the epoch of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
fn parse_http_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let rest = s.split_once(", ")?.1.strip_suffix(" GMT")?;
    let mut parts = rest.split(' ');
    let (day, month, year, time) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let d: i64 = day.parse().ok()?;
    let m = MONTHS.iter().position(|x| *x == month)? as i64 + 1;
    let y: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>());
    let (h, mi, se) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Asserts the response's Date is within a few seconds of now + `offset_s`.
fn assert_date_near(r: &Resp, offset_s: i64) {
    let date = r.header("date").expect("Date");
    let at = parse_http_date(date).unwrap_or_else(|| panic!("unparsable Date: {date}"));
    let want = now_secs() + offset_s;
    assert!((at - want).abs() <= 3, "Date {date} is {}s off now{offset_s:+}s", at - want);
}

#[test]
fn date_parser_matches_http_date() {
    for secs in [0u64, 784_111_777, 951_782_400, 1_709_208_000, 1_795_366_000, 4_102_444_799] {
        let s = http_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(parse_http_date(&s), Some(secs as i64), "{s}");
    }
}

#[test]
fn date_header_is_now_then_skewed() {
    let c = Collector::start();
    let mut e = client();
    let r = get(&mut e, &format!("{}/a", c.url())).unwrap();
    assert_date_near(&r, 0);

    c.set_date_skew(86_400_000);
    let r = get(&mut e, &format!("{}/b", c.url())).unwrap();
    assert_date_near(&r, 86_400);
    let r = post(&mut e, &c, &batch(&[("a", "sk1")])).unwrap();
    assert_eq!(r.code, 200);
    assert_date_near(&r, 86_400);
    // Config answers (200 and 304) and faulted ones carry it too; Retry-After
    // is sent as given.
    c.set_config("/cfg", Some(CONFIG_V1.into()), Some("\"e\"".into()));
    assert_date_near(&get(&mut e, &format!("{}/cfg", c.url())).unwrap(), 86_400);
    let r = get_with(&mut e, &format!("{}/cfg", c.url()), &["If-None-Match: \"e\""]).unwrap();
    assert_eq!(r.code, 304);
    assert_date_near(&r, 86_400);
    c.push_faults(vec![Fault::RetryAfter(503, "2".into())]);
    let r = post(&mut e, &c, &batch(&[("a", "sk2")])).unwrap();
    assert_eq!((r.code, r.header("retry-after")), (503, Some("2")));
    assert_date_near(&r, 86_400);
    // A malformed request's 400 too.
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    s.write_all(b"hello there\r\n\r\n").unwrap();
    let head = read_response_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let date = head.lines().find_map(|l| l.strip_prefix("Date: ")).expect("Date");
    let at = parse_http_date(date).unwrap();
    assert!((at - (now_secs() + 86_400)).abs() <= 3, "{date}");

    c.set_date_skew(-3_600_000);
    assert_date_near(&get(&mut e, &format!("{}/c", c.url())).unwrap(), -3600);
    c.set_date_skew(0);
    assert_date_near(&get(&mut e, &format!("{}/d", c.url())).unwrap(), 0);
}
