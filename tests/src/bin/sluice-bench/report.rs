//! Every figure the bench prints, kept as it is measured and written at the
//! end of a run to `target/bench/results.json` (under `CARGO_TARGET_DIR`
//! when set): a JSON array of `{"name", "value", "unit", "backend"}`, with
//! `backend` `"sqlite"`, `"postgres"` or `null` when no database is
//! involved. A figure is known by its name and backend; before the file is
//! overwritten, each figure also in the previous run is printed beside its
//! previous value.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};

/// The database a figure was measured on.
pub(crate) use sluice_tests::service::Backend;

/// `backend` as the results file names it.
fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
    backend: Option<Backend>,
}

static FIGURES: Mutex<Vec<Figure>> = Mutex::new(Vec::new());

/// Records a figure the bench printed: `name` lowercase and dot-separated
/// (`service.webhook_deliveries_per_s`), stable from run to run so that runs
/// compare; `unit` such as `per_s`, `us`, `ms`, `MiB` or `ratio`.
pub(crate) fn figure(
    name: impl Into<String>,
    value: f64,
    unit: &'static str,
    backend: Option<Backend>,
) {
    let name = name.into();
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'),
        "figure name {name:?}: lowercase letters, digits, `_` and `.` only"
    );
    FIGURES
        .lock()
        .expect("no figure is recorded while panicking")
        .push(Figure {
            name,
            value,
            unit,
            backend,
        });
}

/// `label` as a part of a figure name: `Google Shopping` → `google_shopping`.
pub(crate) fn slug(label: &str) -> String {
    let mut slug = String::with_capacity(label.len());
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    slug.trim_end_matches('_').to_owned()
}

/// Where the figures go: `target/bench/results.json`, with the target
/// directory found as `sluice_tests::process::sluice_binary` finds it.
fn results_path() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("bench/results.json")
}

/// Prints each figure of this run that the previous run also has, with the
/// change in percent, then writes this run's figures over the previous ones.
pub(crate) fn finish() -> anyhow::Result<()> {
    let figures = std::mem::take(&mut *FIGURES.lock().expect("not poisoned"));
    let path = results_path();
    let previous: Vec<Value> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            println!(
                "bench: {} is not a list of figures ({error}); not compared",
                path.display()
            );
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    let previous_value = |figure: &Figure| {
        let backend = figure.backend.map(backend_name);
        previous.iter().find_map(|old| {
            (old["name"].as_str() == Some(&figure.name) && old["backend"].as_str() == backend)
                .then(|| old["value"].as_f64())
                .flatten()
        })
    };
    let mut compared = Vec::new();
    for figure in &figures {
        if let Some(before) = previous_value(figure) {
            let backend = figure
                .backend
                .map_or(String::new(), |b| format!(" [{}]", backend_name(b)));
            let change = if before != 0.0 && figure.value.is_finite() {
                format!("{:+.1}%", (figure.value - before) / before.abs() * 100.0)
            } else {
                "n/a".to_owned()
            };
            compared.push(format!(
                "bench: {}{backend}: {} {}, previously {} ({change})",
                figure.name,
                readable(figure.value),
                figure.unit,
                readable(before),
            ));
        }
    }
    if !compared.is_empty() {
        println!(
            "\n== compared with the previous run ({}) ==",
            shown(&path).display()
        );
        for line in compared {
            println!("{line}");
        }
    }

    let json = Value::Array(
        figures
            .iter()
            .map(|figure| {
                json!({
                    "name": figure.name,
                    "value": figure.value,
                    "unit": figure.unit,
                    "backend": figure.backend.map(backend_name),
                })
            })
            .collect(),
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&json)?)?;
    println!(
        "bench: {} figures written to {}",
        figures.len(),
        shown(&path).display()
    );
    Ok(())
}

/// `path` without `..` when it exists.
fn shown(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// A value with as many decimals as its size calls for.
fn readable(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}
