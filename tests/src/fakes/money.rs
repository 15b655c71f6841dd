//! Money as the marketplaces write it on the wire: decimal strings with at
//! most two fraction digits (`"19.99"`), summed without floating-point drift.

use std::fmt;
use std::iter::Sum;

/// An amount in hundredths of a currency unit; shown as `"19.99"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hundredths(pub i64);

impl Hundredths {
    /// Reads `"19"`, `"19.9"` or `"19.99"`: digits with at most two fraction
    /// digits, no sign, no exponent, no spaces.
    pub fn parse(text: &str) -> Option<Self> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > 2
            || (text.contains('.') && fraction.is_empty())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
        whole.checked_mul(100)?.checked_add(fraction).map(Self)
    }

    /// A JSON number such as `19.99`, rounded to the nearest hundredth; `None`
    /// when it is not finite.
    pub fn from_f64(value: f64) -> Option<Self> {
        let hundredths = (value * 100.0).round();
        hundredths.is_finite().then_some(Self(hundredths as i64))
    }

    /// This amount `count` times over.
    pub fn times(self, count: i64) -> Self {
        Self(self.0.saturating_mul(count))
    }
}

impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl Sum for Hundredths {
    fn sum<I: Iterator<Item = Self>>(amounts: I) -> Self {
        Self(amounts.map(|amount| amount.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_strings_with_up_to_two_fraction_digits() {
        assert_eq!(Hundredths::parse("19.99"), Some(Hundredths(1999)));
        assert_eq!(Hundredths::parse("19.9"), Some(Hundredths(1990)));
        assert_eq!(Hundredths::parse("19"), Some(Hundredths(1900)));
        assert_eq!(Hundredths::parse("0.05"), Some(Hundredths(5)));
    }

    #[test]
    fn refuses_anything_else() {
        for text in [
            "", ".5", "19.", "19.999", "-1", "+1", "1e3", " 1", "1,5", "abc",
        ] {
            assert_eq!(Hundredths::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn displays_with_two_fraction_digits() {
        assert_eq!(Hundredths(1999).to_string(), "19.99");
        assert_eq!(Hundredths(5).to_string(), "0.05");
        assert_eq!(Hundredths(-250).to_string(), "-2.50");
    }

    #[test]
    fn json_numbers_round_to_the_nearest_hundredth() {
        assert_eq!(Hundredths::from_f64(19.99), Some(Hundredths(1999)));
        assert_eq!(Hundredths::from_f64(0.1 + 0.2), Some(Hundredths(30)));
        assert_eq!(Hundredths::from_f64(f64::NAN), None);
    }

    #[test]
    fn sums_and_multiplies_exactly() {
        let total: Hundredths = [Hundredths(1999), Hundredths(1).times(3)].into_iter().sum();
        assert_eq!(total, Hundredths(2002));
    }
}
