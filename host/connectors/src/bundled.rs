//! Connectors shipped with the service, loaded from a directory at start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_manifest::MANIFEST_FILE;
use sluice_runtime::{Catalog, LoadError, LoadedConnector, Runtime};

/// Loads every connector directory under `dir` (each holding `connector.toml`
/// and `connector.wasm`) and installs it in `catalog`. A connector that fails
/// to load is reported and skipped; the others still load.
pub async fn install_directory(
    runtime: &Runtime,
    catalog: &Catalog,
    dir: &Path,
) -> std::io::Result<Vec<Result<Arc<LoadedConnector>, (PathBuf, LoadError)>>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join(MANIFEST_FILE).is_file())
        .collect();
    entries.sort();
    let mut loaded = Vec::with_capacity(entries.len());
    for path in entries {
        match runtime.load_dir(&path).await {
            Ok(connector) => {
                tracing::info!(
                    connector = %connector.manifest().id,
                    version = %connector.manifest().version,
                    source = ?connector.compile_source(),
                    "installed bundled connector"
                );
                catalog.install(connector.clone());
                loaded.push(Ok(connector));
            }
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "bundled connector failed to load");
                loaded.push(Err((path, error)));
            }
        }
    }
    Ok(loaded)
}
