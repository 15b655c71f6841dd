//! Percent-encoding for path segments, query values and form bodies.

/// `text` with every byte outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - . _ ~`) percent-encoded, so that it is safe as a path
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

/// `name=value&...`, names and values percent-encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
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
    fn reserved_characters_are_encoded() {
        assert_eq!(percent("TSHIRT-RED_M.1~"), "TSHIRT-RED_M.1~");
        assert_eq!(percent("a b/c#^"), "a%20b%2Fc%23%5E");
        assert_eq!(percent("é"), "%C3%A9");
    }

    #[test]
    fn forms_join_encoded_pairs() {
        assert_eq!(
            form(&[("grant_type", "refresh_token"), ("scope", "a b")]),
            "grant_type=refresh_token&scope=a%20b"
        );
    }
}
