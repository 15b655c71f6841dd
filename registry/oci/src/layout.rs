//! A directory registry: one OCI image layout per repository.

use std::path::{Path, PathBuf};

use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use serde_json::{Value, json};

use crate::reference::DirectoryReference;
use crate::{OciError, Pushed};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const IMAGE_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

fn io(path: &Path) -> impl Fn(std::io::Error) -> OciError + '_ {
    move |e| OciError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn blob_path(layout: &Path, digest: &str) -> Result<PathBuf, OciError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| OciError::Io {
            path: layout.display().to_string(),
            message: format!("'{digest}' is not a sha256 digest"),
        })?;
    Ok(layout.join("blobs/sha256").join(hex))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OciError> {
    let temporary = path.with_extension("part");
    std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))
}

/// Writes the image into the layout and tags it.
pub(crate) fn push(
    reference: &DirectoryReference,
    layers: &[ImageLayer],
    config: &Config,
    manifest: &OciImageManifest,
) -> Result<Pushed, OciError> {
    let Some(tag) = &reference.tag else {
        return Err(OciError::Reference {
            reference: reference.layout().display().to_string(),
            message: "push to a tag, as in dir://./registry/slack:0.2.0".to_owned(),
        });
    };
    let layout = reference.layout();
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
    write_atomically(
        &layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    for (data, digest) in layers
        .iter()
        .map(|l| &l.data)
        .zip(manifest.layers.iter().map(|d| &d.digest))
        .chain([(&config.data, &manifest.config.digest)])
    {
        write_atomically(&blob_path(&layout, digest)?, data)?;
    }
    let manifest_bytes = serde_json::to_vec(manifest).expect("a manifest always serializes");
    let manifest_digest = sluice_package::digest(&manifest_bytes);
    write_atomically(&blob_path(&layout, &manifest_digest)?, &manifest_bytes)?;

    let index_path = layout.join("index.json");
    let mut index: Value = match std::fs::read(&index_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| OciError::Io {
            path: index_path.display().to_string(),
            message: format!("not an OCI index: {e}"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            json!({"schemaVersion": 2, "manifests": []})
        }
        Err(e) => return Err(io(&index_path)(e)),
    };
    let manifests = index["manifests"]
        .as_array_mut()
        .ok_or_else(|| OciError::Io {
            path: index_path.display().to_string(),
            message: "has no manifests list".to_owned(),
        })?;
    manifests.retain(|m| m["annotations"][REF_NAME].as_str() != Some(tag));
    manifests.push(json!({
        "mediaType": IMAGE_MANIFEST_MEDIA_TYPE,
        "digest": manifest_digest,
        "size": manifest_bytes.len(),
        "annotations": { REF_NAME: tag },
    }));
    write_atomically(
        &index_path,
        &serde_json::to_vec_pretty(&index).expect("an index always serializes"),
    )?;
    Ok(Pushed {
        reference: format!("dir://{}:{tag}", layout.display()),
        manifest_digest,
    })
}

/// A blob reader for one layout, checking each blob against its digest.
pub(crate) type Blobs = Box<dyn Fn(&OciDescriptor) -> Result<Vec<u8>, OciError>>;

/// Reads the manifest `reference` names, and a reader for its blobs.
pub(crate) fn pull(reference: &DirectoryReference) -> Result<(OciImageManifest, Blobs), OciError> {
    let layout = reference.layout();
    let digest = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => digest.clone(),
        (None, Some(tag)) => {
            let index_path = layout.join("index.json");
            let bytes = std::fs::read(&index_path).map_err(io(&index_path))?;
            let index: Value = serde_json::from_slice(&bytes).map_err(|e| OciError::Io {
                path: index_path.display().to_string(),
                message: format!("not an OCI index: {e}"),
            })?;
            index["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["annotations"][REF_NAME].as_str() == Some(tag))
                .and_then(|m| m["digest"].as_str())
                .map(str::to_owned)
                .ok_or_else(|| OciError::Io {
                    path: index_path.display().to_string(),
                    message: format!("no tag '{tag}'"),
                })?
        }
        (None, None) => unreachable!("a directory reference names a tag or a digest"),
    };
    let read = move |layout: &Path, digest: &str| -> Result<Vec<u8>, OciError> {
        let path = blob_path(layout, digest)?;
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let actual = sluice_package::digest(&bytes);
        if actual != digest {
            return Err(OciError::Io {
                path: path.display().to_string(),
                message: format!("has digest {actual}, not {digest}"),
            });
        }
        Ok(bytes)
    };
    let manifest_bytes = read(&layout, &digest)?;
    let manifest: OciImageManifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| OciError::NotAPackage {
            reference: layout.display().to_string(),
            message: format!("its manifest does not parse: {e}"),
        })?;
    let blobs: Blobs = Box::new(move |descriptor| read(&layout, &descriptor.digest));
    Ok((manifest, blobs))
}
