//! On-disk cache of compiled components.
//!
//! Compiling a component takes tens of milliseconds per 64 KiB; loading the
//! precompiled artifact takes a fraction of a millisecond. Artifacts only
//! load into the same wasmtime version with the same engine settings, so the
//! cache key combines the component's SHA-256 with a hash of both.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component came from when it was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompileSource {
    /// Compiled now (and written to the cache, if there is one).
    Compiled,
    /// Loaded from a cached artifact.
    Cache,
}

/// The SHA-256 of a component, as lower-case hex.
pub fn component_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A directory of precompiled artifacts owned by this service.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

impl ArtifactCache {
    /// A cache in `dir` (created with mode 0700 if missing) for artifacts of `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        create_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            engine_key: engine_key(engine),
        })
    }

    fn path_for(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Loads the component whose bytes have `digest`, compiling and caching
    /// it when no usable artifact exists. A corrupt or incompatible artifact
    /// is replaced rather than failing the load.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CompileSource)> {
        let path = self.path_for(digest);
        if path.exists() {
            match deserialize(engine, &path) {
                Ok(component) => return Ok((component, CompileSource::Cache)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding unusable compiled artifact");
                }
            }
        }
        let artifact = engine.precompile_component(bytes)?;
        if let Err(error) = write_atomically(&path, &artifact) {
            tracing::warn!(path = %path.display(), %error, "could not cache compiled artifact");
        }
        Ok((just_compiled(engine, &artifact)?, CompileSource::Compiled))
    }
}

/// Reads an artifact this service wrote.
#[allow(unsafe_code, reason = "loading precompiled native code")]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime requires the artifact to come from
    // `Engine::precompile_component` of a compatible engine. The file lives in
    // a 0700 directory that only this service writes, is written atomically,
    // and its name carries the engine key, so a mismatched engine never reads
    // it; wasmtime additionally checks the version and settings header.
    unsafe { Component::deserialize_file(engine, path) }
}

/// Loads an artifact that `engine` produced a moment ago, instead of
/// compiling the component a second time.
#[allow(unsafe_code, reason = "loading precompiled native code")]
fn just_compiled(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` was returned by `precompile_component` of this very
    // engine and has not left this process.
    unsafe { Component::deserialize(engine, artifact) }
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A unique temporary name in the same directory, then a rename: readers
    // see either no artifact or a complete one.
    let temporary = path.with_extension(format!("{}.tmp", sluice_core::new_id("part")));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
