//! Percent-encoding for URL path segments, query strings and
//! `application/x-www-form-urlencoded` bodies (RFC 3986: every byte but the
//! unreserved characters `A-Z a-z 0-9 - . _ ~` is escaped).
//!
//! ```
//! use sluice_guest::encode;
//!
//! let path = format!(
//!     "/items/{}?{}",
//!     encode::percent("RED T/1"),
//!     encode::pairs(&[("marketplaceIds", "ATVPDKIKX0DER"), ("issueLocale", "en_US")])
//! );
//! assert_eq!(path, "/items/RED%20T%2F1?marketplaceIds=ATVPDKIKX0DER&issueLocale=en_US");
//! ```

/// `text` with every byte outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - . _ ~`) written `%XX`, so that it is safe as a path
/// segment, a query value or a form value.
pub fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `name=value&...` with names and values [`percent`]-encoded, for a query
/// string or an `application/x-www-form-urlencoded` body.
pub fn pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent(name), percent(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_others_are_escaped() {
        assert_eq!(percent("TSHIRT-RED_M.1~"), "TSHIRT-RED_M.1~");
        assert_eq!(percent("A B/C"), "A%20B%2FC");
        assert_eq!(percent("a b/c#^"), "a%20b%2Fc%23%5E");
        assert_eq!(percent("Atzr|IwE+="), "Atzr%7CIwE%2B%3D");
        assert_eq!(percent("é"), "%C3%A9");
        assert_eq!(percent(""), "");
    }

    #[test]
    fn pairs_join_encoded_names_and_values() {
        assert_eq!(
            pairs(&[("grant_type", "refresh_token"), ("a b", "c,d")]),
            "grant_type=refresh_token&a%20b=c%2Cd"
        );
        assert_eq!(
            pairs(&[("grant_type", "refresh_token"), ("scope", "a b")]),
            "grant_type=refresh_token&scope=a%20b"
        );
        assert_eq!(pairs(&[]), "");
    }
}
