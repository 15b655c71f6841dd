//! How Slack reads a request body: JSON or `application/x-www-form-urlencoded`,
//! chosen by `Content-Type`.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

/// The body encoding a request declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    /// `application/json`; Slack warns `missing_charset` when no charset is given.
    Json {
        /// Whether `; charset=...` was present.
        has_charset: bool,
    },
    /// `application/x-www-form-urlencoded`.
    Form,
    /// Anything else: Slack reads no arguments from the body.
    Other,
}

/// The encoding declared by `Content-Type`.
pub(super) fn encoding(headers: &HeaderMap) -> Encoding {
    let Some(content_type) = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return Encoding::Other;
    };
    let mut parts = content_type.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or_default().to_ascii_lowercase();
    let has_charset = parts.any(|param| param.to_ascii_lowercase().starts_with("charset="));
    match media_type.as_str() {
        "application/json" => Encoding::Json { has_charset },
        "application/x-www-form-urlencoded" => Encoding::Form,
        _ => Encoding::Other,
    }
}

/// The fields of a form body, each value a JSON string.
pub(super) fn form_fields(body: &[u8]) -> Map<String, Value> {
    url::form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_content_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, value.parse().unwrap());
        headers
    }

    #[test]
    fn json_with_and_without_charset() {
        assert_eq!(
            encoding(&with_content_type("application/json; charset=utf-8")),
            Encoding::Json { has_charset: true }
        );
        assert_eq!(
            encoding(&with_content_type("Application/JSON")),
            Encoding::Json { has_charset: false }
        );
    }

    #[test]
    fn form_and_other_types() {
        assert_eq!(
            encoding(&with_content_type("application/x-www-form-urlencoded")),
            Encoding::Form
        );
        assert_eq!(encoding(&with_content_type("text/plain")), Encoding::Other);
        assert_eq!(encoding(&HeaderMap::new()), Encoding::Other);
    }

    #[test]
    fn form_fields_are_decoded() {
        let fields = form_fields(b"channel=C1&text=a+b%26c");
        assert_eq!(fields["channel"], "C1");
        assert_eq!(fields["text"], "a b&c");
    }
}
