//! Writing RFC 3339 timestamps in eBay's form (`2026-05-01T12:00:00.000Z`)
//! and the platform's (`2026-05-01T12:00:00Z`); reading them is
//! [`sluice_guest::time::parse_rfc3339_ms`].

use sluice_guest::time::format_rfc3339;

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

#[cfg(test)]
mod tests {
    use super::*;

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
