//! Percent-encoding for paths, queries and form bodies (RFC 3986: every byte
//! but the unreserved characters `A-Z a-z 0-9 - . _ ~` is escaped).

/// `text` with every byte but the unreserved characters written `%XX`.
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

/// `name=value&...` with names and values percent-encoded, for a query
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
        assert_eq!(percent("Atzr|IwE+="), "Atzr%7CIwE%2B%3D");
        assert_eq!(percent("é"), "%C3%A9");
    }

    #[test]
    fn pairs_join_encoded_names_and_values() {
        assert_eq!(
            pairs(&[("grant_type", "refresh_token"), ("a b", "c,d")]),
            "grant_type=refresh_token&a%20b=c%2Cd"
        );
    }
}
