//! Embeds the connector templates and the Python and JavaScript guest SDKs
//! in the binary, so that `sluice connector new` works wherever `sluice` is
//! installed. The files on disk stay the one source: this lists them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let cli = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let guests = cli.join("../../guests");
    let sets: [(&str, PathBuf, &[&str]); 5] = [
        ("RUST_TEMPLATE", cli.join("templates/rust"), &[""]),
        ("PYTHON_TEMPLATE", cli.join("templates/python"), &[""]),
        ("JS_TEMPLATE", cli.join("templates/js"), &[""]),
        ("PYTHON_SDK", guests.join("python/sdk"), &["sluice_guest"]),
        // What the package publishes (its package.json's "files"), not its own tests.
        (
            "JS_SDK",
            guests.join("js/sdk"),
            &["package.json", "README.md", "src", "bin", "testing"],
        ),
    ];
    let mut generated = String::new();
    for (name, root, parts) in sets {
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        for part in parts {
            collect(&root, &root.join(part), &mut files);
        }
        files.sort();
        writeln!(generated, "pub const {name}: &[(&str, &str)] = &[").unwrap();
        for (relative, absolute) in files {
            println!("cargo:rerun-if-changed={}", absolute.display());
            writeln!(
                generated,
                "    ({relative:?}, include_str!({:?})),",
                absolute.display().to_string()
            )
            .unwrap();
        }
        writeln!(generated, "];").unwrap();
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("embedded.rs"), generated).expect("OUT_DIR is writable");
}

/// Every file under `path` (or `path` itself), by path relative to `root`,
/// skipping caches and installed packages.
fn collect(root: &Path, path: &Path, files: &mut Vec<(String, PathBuf)>) {
    if path.is_dir() {
        let entries = std::fs::read_dir(path).expect("template directories are readable");
        for entry in entries {
            let entry = entry.expect("template directories are readable");
            let name = entry.file_name();
            if name == "node_modules" || name == "__pycache__" {
                continue;
            }
            collect(root, &entry.path(), files);
        }
    } else {
        let relative = path.strip_prefix(root).expect("under its root");
        files.push((
            relative
                .to_str()
                .expect("UTF-8 file names")
                .replace('\\', "/"),
            path.to_path_buf(),
        ));
    }
}
