//! Calendar arithmetic for the wire: ISO-8601 timestamps out, HTTP dates in.
//! (Howard Hinnant's days-from-civil algorithms; no time-zone database needed.)

/// `2026-11-22T16:46:40.123Z` for a Unix time in milliseconds.
pub fn iso8601_ms(unix_ms: i64) -> String {
    let mut out = String::with_capacity(24);
    push_iso8601_ms(&mut out, unix_ms);
    out
}

/// `iso8601_ms` written at the end of `out`, with no allocation (one per
/// event sent otherwise).
pub fn push_iso8601_ms(out: &mut String, unix_ms: i64) {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        // Years a stored time cannot normally have: the general formatting.
        let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        out.push_str(&format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"));
        return;
    }
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m as i64);
    put(8, 2, d as i64);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    put(20, 3, ms);
    out.push_str(std::str::from_utf8(&b).expect("ASCII"));
}

/// Years a server's date may name; anything else is absurd (ignored).
const YEARS: std::ops::RangeInclusive<i64> = 1970..=9999;

/// Parses an HTTP date (RFC 9110 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`,
/// plus the obsolete RFC 850 and asctime forms) into Unix milliseconds. `None`
/// for a malformed date or one outside the years 1970–9999 (so the arithmetic
/// below cannot overflow, whatever a server sends).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let parts: Vec<&str> = s.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let (day, month, year, time) = match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [_, d, mon, y, t, "GMT"] => (d.parse().ok()?, month_number(mon)?, y.parse().ok()?, *t),
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [_, dmy, t, "GMT"] => {
            let mut it = dmy.split('-');
            let d = it.next()?.parse().ok()?;
            let mon = month_number(it.next()?)?;
            let y: i64 = it.next()?.parse().ok()?;
            (
                d,
                mon,
                if y < 70 {
                    2000 + y
                } else if y < 100 {
                    1900 + y
                } else {
                    y
                },
                *t,
            )
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_, mon, d, t, y] => (d.parse().ok()?, month_number(mon)?, y.parse().ok()?, *t),
        _ => return None,
    };
    let mut hms = time.split(':').map(|x| x.parse::<i64>());
    let (h, mi, se) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    let in_range = |v: i64, max: i64| (0..=max).contains(&v);
    if !(1..=31).contains(&day) || !in_range(h, 23) || !in_range(mi, 59) || !in_range(se, 60) {
        return None;
    }
    if !YEARS.contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    days.checked_mul(86_400)?.checked_add(h * 3600 + mi * 60 + se)?.checked_mul(1000)
}

fn month_number(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    MONTHS.iter().position(|x| x.eq_ignore_ascii_case(m)).map(|i| i as u32 + 1)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_have_milliseconds_and_utc() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_795_366_000_123), "2026-11-22T16:46:40.123Z");
        assert_eq!(iso8601_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso8601_ms(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // Beyond four-digit years: the general formatting, still readable.
        assert_eq!(iso8601_ms(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(-62_167_219_200_001), "-001-12-31T23:59:59.999Z");
        let mut out = String::from("at ");
        push_iso8601_ms(&mut out, 1_795_366_000_123);
        assert_eq!(out, "at 2026-11-22T16:46:40.123Z", "appended, not replaced");
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let want = Some(784_111_777_000);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), want);
        assert_eq!(parse_http_date("Sun, 22 Nov 2026 16:46:40 GMT"), Some(1_795_366_000_000));
    }

    #[test]
    fn malformed_dates_are_none() {
        for bad in ["", "tomorrow", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT", "120"] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn absurd_years_and_fields_are_none_and_never_overflow() {
        for bad in [
            "Sun, 06 Nov 99999999999999 08:49:37 GMT",
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov 10000 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 1994 -1:49:37 GMT",
            "Sun, 06 Nov 1994 08:-5:37 GMT",
            "Sun Nov  6 08:49:37 99999999999999999",
            "Sun Nov 01 08:49:07 1994888880",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        assert!(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT").is_some());
    }
}
