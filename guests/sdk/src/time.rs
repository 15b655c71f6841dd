//! Dates and delays: `Retry-After`, HTTP dates and RFC 3339 timestamps.
//!
//! Connectors take the current time from the invocation context
//! (`context.now_ms`), never from their own clock, so that tests control it.

/// The delay a `Retry-After` header asks for, in seconds from `now_ms`
/// (unix milliseconds).
///
/// Accepts both forms of RFC 9110: a number of seconds (`120`) and an HTTP
/// date (`Wed, 21 Oct 2026 07:28:00 GMT`); a date in the past means no
/// delay. Returns `None` when the value is neither.
pub fn retry_after_seconds(value: &str, now_ms: u64) -> Option<u32> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = value.parse().unwrap_or(u64::MAX);
        return Some(u32::try_from(seconds).unwrap_or(u32::MAX));
    }
    let at = parse_http_date(value)?;
    let now = now_ms / 1000;
    Some(u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX))
}

/// Parses an HTTP date in the preferred IMF-fixdate form,
/// `Sun, 06 Nov 1994 08:49:37 GMT`, into unix seconds.
pub fn parse_http_date(text: &str) -> Option<u64> {
    let (weekday, rest) = text.split_once(", ")?;
    if !WEEKDAYS.contains(&weekday) {
        return None;
    }
    let mut parts = rest.split(' ');
    let day: u32 = parse_digits(parts.next()?, 2)?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i64 = parse_digits(parts.next()?, 4)?;
    let mut clock = parts.next()?.split(':');
    let hour: u64 = parse_digits(clock.next()?, 2)?;
    let minute: u64 = parse_digits(clock.next()?, 2)?;
    let second: u64 = parse_digits(clock.next()?, 2)?;
    if parts.next()? != "GMT" || parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    if day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Unix milliseconds of an RFC 3339 timestamp (`2026-05-01T12:00:00Z`,
/// `2026-05-01T14:00:00.250+02:00`), or `None` when `text` is not one.
///
/// The date and time must be valid (no 30 February, no hour 24; a leap
/// second `:60` is accepted), `T` (or `t`) separates them, and the offset is
/// `Z` (or `z`) or `±hh:mm`. Fractions of a second are read to the
/// millisecond and cut beyond it.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|(at, byte)| bytes[*at] != *byte) || !matches!(bytes[10], b'T' | b't')
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let width = range.len();
        parse_digits(text.get(range)?, width)
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let year = i64::from(year);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let offset = &rest[1..];
            if offset.len() != 5 || offset.as_bytes()[2] != b':' {
                return None;
            }
            let hours: i64 = offset[..2].parse().ok()?;
            let minutes: i64 = offset[3..].parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 60 + minutes)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds =
        days * 86_400 + i64::from(hour * 3_600 + minute * 60 + second) - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// Formats unix seconds as an RFC 3339 UTC timestamp, `2026-11-22T10:15:00Z`.
pub fn format_rfc3339(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX);
    let (year, month, day) = civil_from_days(days);
    let seconds = unix_seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses exactly `width` ASCII digits.
fn parse_digits<T: std::str::FromStr>(text: &str, width: usize) -> Option<T> {
    if text.len() == width && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-10-21T07:28:00Z.
    const OCT_21_2026: u64 = 1_792_567_680;

    #[test]
    fn retry_after_in_seconds_is_taken_as_is() {
        assert_eq!(retry_after_seconds("120", 0), Some(120));
        assert_eq!(retry_after_seconds(" 3 ", 0), Some(3));
    }

    #[test]
    fn retry_after_seconds_beyond_u32_saturate() {
        assert_eq!(
            retry_after_seconds("99999999999999999999", 0),
            Some(u32::MAX)
        );
    }

    #[test]
    fn retry_after_as_a_date_counts_from_now() {
        let now_ms = (OCT_21_2026 - 90) * 1000;
        assert_eq!(
            retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now_ms),
            Some(90)
        );
    }

    #[test]
    fn retry_after_in_the_past_means_no_delay() {
        let now_ms = (OCT_21_2026 + 5) * 1000;
        assert_eq!(
            retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now_ms),
            Some(0)
        );
    }

    #[test]
    fn retry_after_refuses_garbage() {
        assert_eq!(retry_after_seconds("soon", 0), None);
        assert_eq!(retry_after_seconds("", 0), None);
        assert_eq!(retry_after_seconds("-5", 0), None);
    }

    #[test]
    fn http_dates_parse_to_unix_seconds() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"),
            Some(1_709_208_000)
        );
    }

    #[test]
    fn malformed_http_dates_are_refused() {
        for text in [
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 2023 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(text), None, "{text}");
        }
    }

    #[test]
    fn rfc3339_utc_offsets_and_fractions_are_read() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T23:13:20.123+01:00"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-01-01T00:00:00.000Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-01-01T02:00:00.5+02:00"),
            Some(1_767_225_600_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-12-31T23:00:00-01:00"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-01-01T00:00:00.123456Z"),
            Some(1_767_225_600_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-02-29t12:00:00z"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59Z"), Some(-1_000));
    }

    #[test]
    fn malformed_rfc3339_timestamps_are_refused() {
        for text in [
            "",
            "soon",
            "2026-01-01",
            "2026-01-01 00:00:00Z",
            "2023-13-14T22:13:20Z",
            "2026-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+02:00x",
            "2026-01-01T00:00:00é",
            "2026-1-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_ms(text), None, "{text}");
        }
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(784_111_777), "1994-11-06T08:49:37Z");
        assert_eq!(format_rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
        assert_eq!(format_rfc3339(OCT_21_2026), "2026-10-21T07:28:00Z");
    }
}
