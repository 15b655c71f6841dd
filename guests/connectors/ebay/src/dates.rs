//! RFC 3339 timestamps: reading the platform's and eBay's, writing eBay's
//! (`2026-05-01T12:00:00.000Z`) and the platform's (`2026-05-01T12:00:00Z`).

use sluice_guest::time::format_rfc3339;

/// Unix milliseconds of an RFC 3339 timestamp (`2026-05-01T12:00:00Z`,
/// `2026-05-01T14:00:00.250+02:00`), or `None` when it is not one.
pub fn parse_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|(at, byte)| bytes[*at] != *byte) || !matches!(bytes[10], b'T' | b't')
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
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
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// eBay's form: UTC with milliseconds, `2026-05-01T12:00:00.000Z`.
pub fn format_ebay(ms: i64) -> String {
    let ms = ms.max(0);
    let seconds = format_rfc3339((ms / 1_000) as u64);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), ms % 1_000)
}

/// The platform's form: UTC, milliseconds only when there are some
/// (`2026-05-01T12:00:00Z`).
pub fn format_platform(ms: i64) -> String {
    let ms = ms.max(0);
    if ms % 1_000 == 0 {
        format_rfc3339((ms / 1_000) as u64)
    } else {
        format_ebay(ms)
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_offsets_and_fractions_are_read() {
        assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_ms("2026-01-01T00:00:00.000Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_ms("2026-01-01T02:00:00.5+02:00"),
            Some(1_767_225_600_500)
        );
        assert_eq!(
            parse_ms("2025-12-31T23:00:00-01:00"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_ms("2026-01-01T00:00:00.123456Z"),
            Some(1_767_225_600_123)
        );
    }

    #[test]
    fn malformed_timestamps_are_refused() {
        for text in [
            "",
            "2026-01-01",
            "2026-01-01 00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0200",
        ] {
            assert_eq!(parse_ms(text), None, "{text}");
        }
    }

    #[test]
    fn both_forms_are_written() {
        assert_eq!(format_ebay(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(format_ebay(1_767_225_600_042), "2026-01-01T00:00:00.042Z");
        assert_eq!(format_platform(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(
            format_platform(1_767_225_600_042),
            "2026-01-01T00:00:00.042Z"
        );
    }
}
