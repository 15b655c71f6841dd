//! Package references: an OCI registry reference or a directory registry.

use std::path::PathBuf;

use crate::OciError;

/// Where a package is, by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// In an OCI registry: `registry/repository:tag` or `registry/repository@sha256:…`.
    Oci(oci_client::Reference),
    /// In a directory registry.
    Directory(DirectoryReference),
}

/// A package in a directory registry: `<root>/<repository>` is an OCI image layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryReference {
    /// The registry's directory.
    pub root: PathBuf,
    /// The repository, a folder of `root`.
    pub repository: String,
    /// The tag, when named by tag.
    pub tag: Option<String>,
    /// The manifest digest, when named by digest.
    pub digest: Option<String>,
}

impl DirectoryReference {
    /// The repository's image layout directory.
    pub fn layout(&self) -> PathBuf {
        self.root.join(&self.repository)
    }
}

impl Reference {
    /// Parses `dir://<path>/<repository>:<tag>` (or `@sha256:<hex>`), a
    /// path starting with `/`, `./` or `../` written the same way, or an
    /// OCI reference such as `127.0.0.1:5000/acme/slack:0.2.0`.
    pub fn parse(text: &str) -> Result<Self, OciError> {
        let fail = |message: &str| OciError::Reference {
            reference: text.to_owned(),
            message: message.to_owned(),
        };
        let directory = text.strip_prefix("dir://").or_else(|| {
            ["/", "./", "../"]
                .iter()
                .any(|p| text.starts_with(p))
                .then_some(text)
        });
        let Some(path) = directory else {
            let reference: oci_client::Reference = text
                .parse()
                .map_err(|e: oci_client::ParseError| fail(&e.to_string()))?;
            return Ok(Self::Oci(reference));
        };
        let (root, name) = match path.rsplit_once('/') {
            Some((root, name)) => (if root.is_empty() { "/" } else { root }, name),
            None => (".", path),
        };
        let (repository, tag, digest) = if let Some((repository, digest)) = name.split_once('@') {
            let hex = digest.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail("a digest must be sha256:<64 hex digits>"));
            }
            (repository, None, Some(digest.to_ascii_lowercase()))
        } else if let Some((repository, tag)) = name.split_once(':') {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                return Err(fail("a tag is 1 to 128 of A-Z, a-z, 0-9, '.', '_' and '-'"));
            }
            (repository, Some(tag.to_owned()), None)
        } else {
            return Err(fail(
                "name a tag or a digest, as in dir://./registry/slack:0.2.0 or …/slack@sha256:…",
            ));
        };
        let valid_repository = !repository.is_empty()
            && !repository.starts_with('.')
            && repository
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid_repository {
            return Err(fail(
                "the repository is the last folder of the path: a-z, 0-9, '.', '_' and '-'",
            ));
        }
        Ok(Self::Directory(DirectoryReference {
            root: PathBuf::from(root),
            repository: repository.to_owned(),
            tag,
            digest,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(text: &str) -> DirectoryReference {
        match Reference::parse(text).unwrap() {
            Reference::Directory(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn directory_references_name_root_repository_and_tag_or_digest() {
        let d = directory("dir:///srv/registry/slack:0.2.0");
        assert_eq!(d.layout(), PathBuf::from("/srv/registry/slack"));
        assert_eq!(d.tag.as_deref(), Some("0.2.0"));
        let digest = format!("sha256:{}", "a".repeat(64));
        let d = directory(&format!("./registry/slack@{digest}"));
        assert_eq!(d.root, PathBuf::from("./registry"));
        assert_eq!(d.digest, Some(digest));
        assert_eq!(directory("dir://slack:1").root, PathBuf::from("."));
    }

    #[test]
    fn oci_references_parse_by_tag_and_digest() {
        let Reference::Oci(r) = Reference::parse("127.0.0.1:5000/acme/slack:0.2.0").unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("127.0.0.1:5000", "acme/slack", Some("0.2.0"))
        );
        let digest = format!("sha256:{}", "b".repeat(64));
        let Reference::Oci(r) =
            Reference::parse(&format!("127.0.0.1:5000/acme/slack@{digest}")).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.digest(), Some(digest.as_str()));
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        for (text, message) in [
            ("dir://./registry/slack", "name a tag or a digest"),
            ("./registry/slack@sha256:12", "64 hex digits"),
            ("./registry/Slack:1", "repository"),
            ("./registry/slack:-x", "tag"),
            ("127.0.0.1:5000/UPPER/case:1", "invalid reference"),
        ] {
            let error = Reference::parse(text).unwrap_err().to_string();
            assert!(error.contains(message), "{text}: {error}");
        }
    }
}
