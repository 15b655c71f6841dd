//! The contract's WIT, compiled into the crate so that verification needs
//! no files at run time.

use wit_parser::{PackageId, Resolve, SourceMap};

/// The `wit/deps` packages, each one file.
const DEPS: [(&str, &str); 7] = [
    (
        "wit/deps/io/package.wit",
        include_str!("../../../wit/deps/io/package.wit"),
    ),
    (
        "wit/deps/clocks/package.wit",
        include_str!("../../../wit/deps/clocks/package.wit"),
    ),
    (
        "wit/deps/random/package.wit",
        include_str!("../../../wit/deps/random/package.wit"),
    ),
    (
        "wit/deps/filesystem/package.wit",
        include_str!("../../../wit/deps/filesystem/package.wit"),
    ),
    (
        "wit/deps/sockets/package.wit",
        include_str!("../../../wit/deps/sockets/package.wit"),
    ),
    (
        "wit/deps/cli/package.wit",
        include_str!("../../../wit/deps/cli/package.wit"),
    ),
    (
        "wit/deps/http/package.wit",
        include_str!("../../../wit/deps/http/package.wit"),
    ),
];

/// The files of `sluice:connector`.
const CONTRACT: [(&str, &str); 4] = [
    ("wit/model.wit", include_str!("../../../wit/model.wit")),
    ("wit/host.wit", include_str!("../../../wit/host.wit")),
    ("wit/exports.wit", include_str!("../../../wit/exports.wit")),
    ("wit/worlds.wit", include_str!("../../../wit/worlds.wit")),
];

/// Every file of the contract and its dependencies, by its path from the
/// repository's root (`wit/model.wit`, `wit/deps/http/package.wit`).
pub(crate) fn files() -> impl Iterator<Item = (&'static str, &'static str)> {
    CONTRACT.into_iter().chain(DEPS)
}

/// Resolves the contract and its dependencies.
pub(crate) fn load() -> Result<(Resolve, PackageId), String> {
    let group = |files: &[(&str, &str)]| {
        let mut map = SourceMap::new();
        for (path, text) in files {
            map.push_str(path, *text);
        }
        map.parse().map_err(|(_, e)| e.to_string())
    };
    let deps = DEPS
        .iter()
        .map(|file| group(std::slice::from_ref(file)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut resolve = Resolve::default();
    let package = resolve
        .push_groups(group(&CONTRACT)?, deps)
        .map_err(|e| e.to_string())?;
    Ok((resolve, package))
}
