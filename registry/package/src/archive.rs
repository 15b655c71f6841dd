//! Packing and unpacking the deterministic archive.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sluice_manifest::{MANIFEST_FILE, Manifest, ManifestError};

use crate::digest;
use crate::keys::SigningKeyFile;
use crate::statement::{CONTRACT, FORMAT, FileDigest, Statement};

/// Name of the statement entry.
pub const STATEMENT_ENTRY: &str = "statement.json";
/// Name of the manifest entry.
pub const MANIFEST_ENTRY: &str = "connector.toml";
/// Name of the component entry.
pub const COMPONENT_ENTRY: &str = "component.wasm";
/// Name of the signatures entry.
pub const SIGNATURES_ENTRY: &str = "signatures.json";

/// Largest package file accepted.
pub const MAX_PACKAGE_BYTES: usize = 64 << 20;
/// Largest component accepted.
pub const MAX_COMPONENT_BYTES: usize = 48 << 20;
/// Largest manifest accepted.
pub const MAX_MANIFEST_BYTES: usize = 256 << 10;
/// Largest statement accepted.
pub const MAX_STATEMENT_BYTES: usize = 16 << 10;
/// Largest signature list accepted.
pub const MAX_SIGNATURES_BYTES: usize = 64 << 10;

/// The entries in their only allowed order, with their size caps.
const ENTRIES: [(&str, usize); 4] = [
    (STATEMENT_ENTRY, MAX_STATEMENT_BYTES),
    (MANIFEST_ENTRY, MAX_MANIFEST_BYTES),
    (COMPONENT_ENTRY, MAX_COMPONENT_BYTES),
    (SIGNATURES_ENTRY, MAX_SIGNATURES_BYTES),
];

/// The component file names `pack_dir` accepts beside `connector.toml`.
const COMPONENT_FILES: [&str; 2] = ["component.wasm", "connector.wasm"];

/// One Ed25519 signature over the statement's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSignature {
    /// Id of the signing key (see [`crate::PublicKey::key_id`]).
    pub key_id: String,
    /// Always `ed25519`.
    pub algorithm: String,
    /// The 64-byte signature, standard base64.
    pub signature: String,
}

/// A package's four files, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    statement: Statement,
    statement_bytes: Vec<u8>,
    manifest_toml: String,
    component: Vec<u8>,
    signatures: Vec<PackageSignature>,
}

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The directory holds no component.
    #[error(
        "{dir} holds no component: expected component.wasm or connector.wasm beside connector.toml"
    )]
    NoComponent {
        /// The directory.
        dir: String,
    },
    /// The manifest is invalid.
    #[error("{MANIFEST_ENTRY}: {0}")]
    Manifest(#[from] ManifestError),
    /// A file is larger than a package may hold.
    #[error("{what} is {size} bytes, more than the {max} bytes a package may hold")]
    TooLarge {
        /// Which file.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
}

/// Why bytes are not a well-formed package (the `archive` step).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// The file is larger than any package may be.
    #[error("the package is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are not a readable tar archive.
    #[error("not a package archive: {0}")]
    Malformed(String),
    /// An entry is not the one expected at its position.
    #[error("entry {index} is '{found}' but must be '{expected}'")]
    UnexpectedEntry {
        /// 0-based position.
        index: usize,
        /// The name found.
        found: String,
        /// The name required there.
        expected: &'static str,
    },
    /// An entry is missing.
    #[error("the package has no '{0}'")]
    MissingEntry(&'static str),
    /// More than the four entries.
    #[error("the package holds an extra entry '{0}'")]
    ExtraEntry(String),
    /// An entry is a link, directory or device instead of a regular file.
    #[error("'{0}' is not a regular file")]
    NotAFile(String),
    /// An entry is over its cap.
    #[error("'{name}' is {size} bytes, more than the {max} allowed")]
    EntryTooLarge {
        /// The entry.
        name: &'static str,
        /// Its size.
        size: u64,
        /// The cap.
        max: usize,
    },
    /// `statement.json` does not parse or is not canonical.
    #[error("{STATEMENT_ENTRY}: {0}")]
    Statement(String),
    /// `signatures.json` does not parse or is not canonical.
    #[error("{SIGNATURES_ENTRY}: {0}")]
    Signatures(String),
    /// `connector.toml` is not UTF-8.
    #[error("{MANIFEST_ENTRY} is not UTF-8")]
    ManifestEncoding,
    /// The archive parses but is not encoded the one way Sluice writes it
    /// (headers, padding, trailing bytes).
    #[error(
        "the archive is not in canonical form (headers, padding or trailing bytes differ from what `sluice connector pack` writes)"
    )]
    NotCanonical,
}

impl Package {
    /// Builds an unsigned package from a manifest and a component. The
    /// manifest is validated first (errors name the field).
    pub fn new(manifest_toml: String, component: Vec<u8>) -> Result<Self, PackError> {
        let manifest = Manifest::parse(&manifest_toml)?;
        for (what, size, max) in [
            (MANIFEST_ENTRY, manifest_toml.len(), MAX_MANIFEST_BYTES),
            (COMPONENT_ENTRY, component.len(), MAX_COMPONENT_BYTES),
        ] {
            if size > max {
                return Err(PackError::TooLarge { what, size, max });
            }
        }
        let statement = Statement {
            format: FORMAT.to_owned(),
            id: manifest.id,
            version: manifest.version.to_string(),
            contract: CONTRACT.to_owned(),
            manifest: FileDigest::of(manifest_toml.as_bytes()),
            component: FileDigest::of(&component),
        };
        Ok(Self {
            statement_bytes: statement.to_canonical_json(),
            statement,
            manifest_toml,
            component,
            signatures: Vec::new(),
        })
    }

    /// Builds an unsigned package from a directory holding `connector.toml`
    /// and the component as `component.wasm` or `connector.wasm`.
    pub fn from_dir(dir: &Path) -> Result<Self, PackError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| PackError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = String::from_utf8(read(&manifest_path)?).map_err(|_| PackError::Read {
            path: manifest_path.display().to_string(),
            message: "not UTF-8".to_owned(),
        })?;
        let component_path = COMPONENT_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
            .ok_or_else(|| PackError::NoComponent {
                dir: dir.display().to_string(),
            })?;
        Self::new(manifest, read(&component_path)?)
    }

    /// Parses package bytes, checking the archive's sanity: size, exactly
    /// the four entries in order, regular files within their caps, a
    /// canonical statement and signature list, and a canonical encoding
    /// overall. Digests and signatures are not checked here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ArchiveError> {
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(ArchiveError::TooLarge {
                size: bytes.len(),
                max: MAX_PACKAGE_BYTES,
            });
        }
        let mut archive = tar::Archive::new(bytes);
        let entries = archive
            .entries()
            .map_err(|e| ArchiveError::Malformed(e.to_string()))?;
        let mut contents: Vec<Vec<u8>> = Vec::with_capacity(4);
        for (index, entry) in entries.enumerate() {
            let mut entry = entry.map_err(|e| ArchiveError::Malformed(e.to_string()))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(&(expected, max)) = ENTRIES.get(index) else {
                return Err(ArchiveError::ExtraEntry(name));
            };
            if name != expected {
                return Err(ArchiveError::UnexpectedEntry {
                    index,
                    found: name,
                    expected,
                });
            }
            if entry.header().entry_type() != tar::EntryType::Regular {
                return Err(ArchiveError::NotAFile(name));
            }
            let size = entry.size();
            if size > max as u64 {
                return Err(ArchiveError::EntryTooLarge {
                    name: expected,
                    size,
                    max,
                });
            }
            let mut data = Vec::with_capacity(size as usize);
            entry
                .read_to_end(&mut data)
                .map_err(|e| ArchiveError::Malformed(format!("{expected}: {e}")))?;
            contents.push(data);
        }
        if let Some(&(missing, _)) = ENTRIES.get(contents.len()) {
            return Err(ArchiveError::MissingEntry(missing));
        }
        let mut contents = contents.into_iter();
        let mut next = || contents.next().expect("four entries were read");
        let statement_bytes = next();
        let manifest = next();
        let component = next();
        let signatures_bytes = next();

        let statement: Statement = serde_json::from_slice(&statement_bytes)
            .map_err(|e| ArchiveError::Statement(e.to_string()))?;
        if statement.to_canonical_json() != statement_bytes {
            return Err(ArchiveError::Statement(
                "not canonical JSON (field order, whitespace or escaping differ)".to_owned(),
            ));
        }
        let signatures: Vec<PackageSignature> = serde_json::from_slice(&signatures_bytes)
            .map_err(|e| ArchiveError::Signatures(e.to_string()))?;
        if !signatures.is_sorted_by(|a, b| a.key_id < b.key_id) {
            return Err(ArchiveError::Signatures(
                "signatures must be sorted by key_id, one per key".to_owned(),
            ));
        }
        if signatures_json(&signatures) != signatures_bytes {
            return Err(ArchiveError::Signatures(
                "not canonical JSON (field order, whitespace or escaping differ)".to_owned(),
            ));
        }
        let manifest_toml =
            String::from_utf8(manifest).map_err(|_| ArchiveError::ManifestEncoding)?;
        let package = Self {
            statement,
            statement_bytes,
            manifest_toml,
            component,
            signatures,
        };
        if package.to_bytes() != bytes {
            return Err(ArchiveError::NotCanonical);
        }
        Ok(package)
    }

    /// Reassembles a package from its four parts as they travel separately
    /// (for example as OCI layers), checking it as [`Package::from_bytes`] does.
    pub fn from_parts(
        statement: &[u8],
        manifest_toml: &[u8],
        component: &[u8],
        signatures: &[u8],
    ) -> Result<Self, ArchiveError> {
        Self::from_bytes(&encode([statement, manifest_toml, component, signatures]))
    }

    /// The package file: the same package always gives the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode([
            &self.statement_bytes,
            self.manifest_toml.as_bytes(),
            &self.component,
            &signatures_json(&self.signatures),
        ])
    }

    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The statement's bytes, which signatures cover.
    pub fn statement_bytes(&self) -> &[u8] {
        &self.statement_bytes
    }

    /// `sha256:<hex>` of the statement: the release's identity, the same
    /// for every signing of the same manifest and component.
    pub fn statement_digest(&self) -> String {
        digest(&self.statement_bytes)
    }

    /// The manifest text.
    pub fn manifest_toml(&self) -> &str {
        &self.manifest_toml
    }

    /// The component bytes.
    pub fn component(&self) -> &[u8] {
        &self.component
    }

    /// The signatures, sorted by key id.
    pub fn signatures(&self) -> &[PackageSignature] {
        &self.signatures
    }

    /// The canonical bytes of `signatures.json`.
    pub fn signatures_json(&self) -> Vec<u8> {
        signatures_json(&self.signatures)
    }

    /// Adds `key`'s signature over the statement, replacing an earlier
    /// signature by the same key.
    pub fn add_signature(&mut self, key: &SigningKeyFile) {
        let signature = key.sign_statement(&self.statement_bytes);
        self.signatures.retain(|s| s.key_id != signature.key_id);
        self.signatures.push(signature);
        self.signatures.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    }
}

/// Adds `key`'s signature to the package file `package`, returning the new file.
pub fn sign(package: &[u8], key: &SigningKeyFile) -> Result<Vec<u8>, ArchiveError> {
    let mut package = Package::from_bytes(package)?;
    package.add_signature(key);
    Ok(package.to_bytes())
}

fn signatures_json(signatures: &[PackageSignature]) -> Vec<u8> {
    serde_json::to_vec(signatures).expect("signatures always serialize")
}

/// The one encoding of the four entries.
fn encode(parts: [&[u8]; 4]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for ((name, _), data) in ENTRIES.iter().zip(parts) {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).expect("entry names are short ASCII");
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder
            .append(&header, data)
            .expect("writing to memory cannot fail");
    }
    builder.into_inner().expect("writing to memory cannot fail")
}

#[cfg(test)]
mod tests;
