//! Percent-encoding for URIs, URL path segments, query strings and
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

/// `url` as an RFC 3986 URI of ASCII characters only: every byte that
/// may not appear in a URI (non-ASCII letters, spaces, `"`, `<`, `>`,
/// `\`, `^`, `` ` ``, `{`, `|`, `}` and controls) is written `%XX`, and so
/// is a `%` that does not start an escape. Characters with a meaning in
/// URIs (`:/?#[]@!$&'()*+,;=`) and existing escapes are kept, so an
/// already-encoded URL comes back unchanged.
///
/// ```
/// use sluice_guest::encode;
///
/// assert_eq!(
///     encode::uri("https://shop.example.com/p/größe 1?q=a|b"),
///     "https://shop.example.com/p/gr%C3%B6%C3%9Fe%201?q=a%7Cb"
/// );
/// assert_eq!(encode::uri("https://x.example/a%20b"), "https://x.example/a%20b");
/// ```
pub fn uri(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    for (index, &byte) in bytes.iter().enumerate() {
        let is_escape = byte == b'%'
            && bytes.get(index + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(index + 2).is_some_and(u8::is_ascii_hexdigit);
        let allowed =
            byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&byte) || is_escape;
        if allowed {
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
    fn uris_keep_their_syntax_and_escape_the_rest() {
        assert_eq!(
            uri("https://a.example/x?y=1&z=[2]#f"),
            "https://a.example/x?y=1&z=[2]#f"
        );
        assert_eq!(
            uri("https://a.example/é ü"),
            "https://a.example/%C3%A9%20%C3%BC"
        );
        assert_eq!(uri("https://a.example/100%"), "https://a.example/100%25");
        assert_eq!(uri("https://a.example/%7e"), "https://a.example/%7e");
        assert!(uri("https://a.example/\u{1F600}\"<>").is_ascii());
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
