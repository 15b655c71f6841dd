//! Moving connector packages through OCI registries and directories.
//!
//! A package travels as one OCI image manifest, following the wasm
//! ecosystem's convention (wasmCloud, wkg) so that generic tools can pull the
//! component, plus Sluice layers that carry the rest of the package:
//!
//! | part | media type |
//! |---|---|
//! | config | `application/vnd.wasm.config.v0+json` (architecture `wasm`, os `wasip2`, the component's imports and exports) |
//! | layer 0: the component | `application/wasm` |
//! | layer 1: `connector.toml` | [`MANIFEST_MEDIA_TYPE`] |
//! | layer 2: `statement.json` | [`STATEMENT_MEDIA_TYPE`] |
//! | layer 3: `signatures.json` | [`SIGNATURES_MEDIA_TYPE`] |
//!
//! Pulling reassembles the byte-identical `.sluicepkg` (the archive is
//! deterministic), so the package digest and its signatures survive the
//! trip. Nothing here trusts what it pulls: verification is the caller's
//! next step.
//!
//! References ([`Reference`]) name a tag or a digest:
//! `127.0.0.1:5000/acme/slack:0.2.0`, `ghcr.io/acme/slack@sha256:…`. A
//! directory registry is written `dir://<path>/<repository>:<tag>` (or a
//! path starting with `/`, `./` or `../`); each repository is an OCI image
//! layout (`oci-layout`, `index.json`, `blobs/sha256/…`) that `oras` and
//! `skopeo` also read, for air-gapped use. Plain HTTP is used only for the
//! registries the caller lists as insecure (`host:port`).

mod layout;
mod reference;

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use serde::Serialize;
use sluice_package::{ArchiveError, Package};

pub use reference::{DirectoryReference, Reference};

/// Media type of the OCI config of a wasm component (wasmCloud / wkg).
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the component layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Media type of the manifest layer.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.sluice.connector.manifest.v1+toml";
/// Media type of the statement layer.
pub const STATEMENT_MEDIA_TYPE: &str = "application/vnd.sluice.connector.statement.v1+json";
/// Media type of the signatures layer.
pub const SIGNATURES_MEDIA_TYPE: &str = "application/vnd.sluice.connector.signatures.v1+json";

/// The layers of a package, in order.
const LAYERS: [&str; 4] = [
    WASM_LAYER_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    STATEMENT_MEDIA_TYPE,
    SIGNATURES_MEDIA_TYPE,
];

/// Why a push or pull failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference does not parse.
    #[error("invalid reference '{reference}': {message}")]
    Reference {
        /// The reference as given.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// The registry refused or could not be reached.
    #[error("{reference}: {message}")]
    Registry {
        /// The reference.
        reference: String,
        /// The registry's or the transport's error.
        message: String,
    },
    /// A directory registry could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// What the reference names is not a Sluice package.
    #[error("{reference} is not a Sluice connector package: {message}")]
    NotAPackage {
        /// The reference.
        reference: String,
        /// What is missing or wrong.
        message: String,
    },
    /// The bytes to push, or the pulled layers, do not form a package.
    #[error("not a valid package: {0}")]
    Package(#[from] ArchiveError),
}

/// Where a push landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// The reference pushed to, by tag.
    pub reference: String,
    /// `sha256:<hex>` of the OCI manifest: pull `<repository>@<digest>` to pin it.
    pub manifest_digest: String,
}

/// The OCI registries (and directory registries) packages move through.
#[derive(Clone)]
pub struct Registries {
    client: oci_client::Client,
    auth: RegistryAuth,
}

impl std::fmt::Debug for Registries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registries").finish_non_exhaustive()
    }
}

impl Registries {
    /// Registries reached over HTTPS, except those in `insecure`
    /// (`host:port`, for example `127.0.0.1:5000`), reached over plain HTTP.
    /// Anonymous access.
    pub fn new(insecure: &[String]) -> Self {
        // reqwest is built without a default TLS provider; use ring, as the
        // rest of Sluice does. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure.to_vec()),
            ..ClientConfig::default()
        };
        Self {
            client: oci_client::Client::new(config),
            auth: RegistryAuth::Anonymous,
        }
    }

    /// Uses HTTP basic credentials for every registry.
    pub fn with_basic_auth(mut self, username: &str, password: &str) -> Self {
        self.auth = RegistryAuth::Basic(username.to_owned(), password.to_owned());
        self
    }

    /// Pushes the package file `package` to `reference` (by tag).
    pub async fn push(&self, package: &[u8], reference: &str) -> Result<Pushed, OciError> {
        let parsed = Reference::parse(reference)?;
        let package = Package::from_bytes(package)?;
        let (layers, config) = image(&package);
        let manifest = OciImageManifest::build(&layers, &config, Some(annotations(&package)));
        match parsed {
            Reference::Directory(dir) => layout::push(&dir, &layers, &config, &manifest),
            Reference::Oci(oci) => {
                if oci.tag().is_none() || oci.digest().is_some() {
                    return Err(OciError::Reference {
                        reference: reference.to_owned(),
                        message: "push to a tag, as in registry/repository:1.2.0".to_owned(),
                    });
                }
                let registry_error =
                    |e: oci_client::errors::OciDistributionError| OciError::Registry {
                        reference: reference.to_owned(),
                        message: e.to_string(),
                    };
                self.client
                    .push(&oci, &layers, config, &self.auth, Some(manifest))
                    .await
                    .map_err(registry_error)?;
                let manifest_digest = self
                    .client
                    .fetch_manifest_digest(&oci, &self.auth)
                    .await
                    .map_err(registry_error)?;
                Ok(Pushed {
                    reference: oci.whole(),
                    manifest_digest,
                })
            }
        }
    }

    /// Pulls the package `reference` names (by tag or digest) and
    /// reassembles the package file. The layers' digests are checked
    /// against the manifest, and by digest the manifest against the reference.
    pub async fn pull(&self, reference: &str) -> Result<Vec<u8>, OciError> {
        match Reference::parse(reference)? {
            Reference::Directory(dir) => {
                let (manifest, blobs) = layout::pull(&dir)?;
                assemble(reference, &manifest, blobs)
            }
            Reference::Oci(oci) => {
                let registry_error =
                    |e: oci_client::errors::OciDistributionError| OciError::Registry {
                        reference: reference.to_owned(),
                        message: e.to_string(),
                    };
                let (manifest, _digest) = self
                    .client
                    .pull_image_manifest(&oci, &self.auth)
                    .await
                    .map_err(registry_error)?;
                let mut blobs = BTreeMap::new();
                for layer in &manifest.layers {
                    let mut data = Vec::with_capacity(layer.size.max(0) as usize);
                    self.client
                        .pull_blob(&oci, layer, &mut data)
                        .await
                        .map_err(registry_error)?;
                    blobs.insert(layer.digest.clone(), data);
                }
                assemble(reference, &manifest, |descriptor| {
                    blobs
                        .get(&descriptor.digest)
                        .cloned()
                        .ok_or_else(|| OciError::NotAPackage {
                            reference: reference.to_owned(),
                            message: format!("layer {} was not pulled", descriptor.digest),
                        })
                })
            }
        }
    }
}

/// The layers and config of a package's image.
fn image(package: &Package) -> (Vec<ImageLayer>, Config) {
    let parts: [Vec<u8>; 4] = [
        package.component().to_vec(),
        package.manifest_toml().as_bytes().to_vec(),
        package.statement_bytes().to_vec(),
        package.signatures_json(),
    ];
    let layers: Vec<ImageLayer> = parts
        .into_iter()
        .zip(LAYERS)
        .map(|(data, media_type)| ImageLayer::new(data, media_type.to_owned(), None))
        .collect();
    let config = Config::new(
        wasm_config(package),
        WASM_CONFIG_MEDIA_TYPE.to_owned(),
        None,
    );
    (layers, config)
}

/// The wasm config (`application/vnd.wasm.config.v0+json`), as oci-wasm
/// writes it, with a fixed `created` so that the same package always makes
/// the same image.
fn wasm_config(package: &Package) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct WasmConfig<'a> {
        created: &'a str,
        architecture: &'a str,
        os: &'a str,
        layer_digests: [&'a str; 1],
        #[serde(skip_serializing_if = "Option::is_none")]
        component: Option<ComponentInfo>,
    }
    #[derive(Serialize)]
    struct ComponentInfo {
        imports: Vec<String>,
        exports: Vec<String>,
        target: Option<String>,
    }
    let component = sluice_contract::decode(package.component())
        .ok()
        .map(|decoded| decoded.surface())
        .map(|surface| ComponentInfo {
            imports: surface.imports,
            exports: surface.exports,
            target: None,
        });
    serde_json::to_vec(&WasmConfig {
        created: "1970-01-01T00:00:00Z",
        architecture: "wasm",
        os: "wasip2",
        layer_digests: [&package.statement().component.sha256],
        component,
    })
    .expect("the config always serializes")
}

fn annotations(package: &Package) -> BTreeMap<String, String> {
    let statement = package.statement();
    BTreeMap::from([
        (
            "org.opencontainers.image.title".to_owned(),
            statement.id.clone(),
        ),
        (
            "org.opencontainers.image.version".to_owned(),
            statement.version.clone(),
        ),
        (
            "dev.sluice.package.statement".to_owned(),
            package.statement_digest(),
        ),
    ])
}

/// Reassembles the package from a manifest's layers.
fn assemble(
    reference: &str,
    manifest: &OciImageManifest,
    mut blob: impl FnMut(&OciDescriptor) -> Result<Vec<u8>, OciError>,
) -> Result<Vec<u8>, OciError> {
    let not_a_package = |message: String| OciError::NotAPackage {
        reference: reference.to_owned(),
        message,
    };
    if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE {
        return Err(not_a_package(format!(
            "its config is {}, not {WASM_CONFIG_MEDIA_TYPE}",
            manifest.config.media_type
        )));
    }
    let found: Vec<&str> = manifest
        .layers
        .iter()
        .map(|l| l.media_type.as_str())
        .collect();
    if found != LAYERS {
        return Err(not_a_package(format!(
            "its layers are [{}], expected [{}]",
            found.join(", "),
            LAYERS.join(", ")
        )));
    }
    let mut parts = Vec::with_capacity(4);
    for layer in &manifest.layers {
        let data = blob(layer)?;
        let actual = sluice_package::digest(&data);
        if actual != layer.digest {
            return Err(not_a_package(format!(
                "layer {} has digest {actual}",
                layer.digest
            )));
        }
        parts.push(data);
    }
    let package = Package::from_parts(&parts[2], &parts[1], &parts[0], &parts[3])?;
    Ok(package.to_bytes())
}
