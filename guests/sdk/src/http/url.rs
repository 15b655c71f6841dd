//! Splitting an absolute URL into what `wasi:http` asks for.

/// The parts of an absolute `http` or `https` URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestTarget {
    /// `https` rather than `http`.
    pub https: bool,
    /// `host[:port]`, IPv6 hosts in brackets.
    pub authority: String,
    /// The path, starting with `/`, and the query if any.
    pub path_with_query: String,
}

impl RequestTarget {
    /// Parses `url`, or says what is wrong with it. The fragment is dropped,
    /// as a client never sends it.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "URL {url:?} contains whitespace or control characters"
            ));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("URL {url:?} is not absolute"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("URL {url:?} is not http or https")),
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_with_query) = rest.split_at(authority_end);
        if authority.is_empty() {
            return Err(format!("URL {url:?} has no host"));
        }
        if authority.contains('@') {
            return Err(format!(
                "URL {url:?} carries user info; send credentials in headers"
            ));
        }
        let path_with_query = match path_with_query {
            "" => "/".to_owned(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        Ok(Self {
            https,
            authority: authority.to_owned(),
            path_with_query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(https: bool, authority: &str, path_with_query: &str) -> RequestTarget {
        RequestTarget {
            https,
            authority: authority.into(),
            path_with_query: path_with_query.into(),
        }
    }

    #[test]
    fn splits_scheme_authority_and_path() {
        assert_eq!(
            RequestTarget::parse("https://hooks.slack.com/services/T1/B2/x?a=1#frag"),
            Ok(target(true, "hooks.slack.com", "/services/T1/B2/x?a=1"))
        );
        assert_eq!(
            RequestTarget::parse("HTTP://127.0.0.1:8080"),
            Ok(target(false, "127.0.0.1:8080", "/"))
        );
        assert_eq!(
            RequestTarget::parse("http://[::ffff:127.0.0.1]/"),
            Ok(target(false, "[::ffff:127.0.0.1]", "/"))
        );
        assert_eq!(
            RequestTarget::parse("https://example.com?q=1"),
            Ok(target(true, "example.com", "/?q=1"))
        );
    }

    #[test]
    fn refuses_what_cannot_be_sent() {
        for url in [
            "example.com/path",
            "ftp://example.com/",
            "https:///path",
            "https://user:pw@example.com/",
            "https://exa mple.com/",
        ] {
            assert!(RequestTarget::parse(url).is_err(), "{url}");
        }
    }
}
