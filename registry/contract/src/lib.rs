//! Checking a component against the contract in `wit/`, before anything runs.
//!
//! Three checks, each its own step of package verification:
//!
//! 1. [`decode`]: the bytes are a valid WebAssembly *component* (not a core
//!    module, not a WIT package), decoded into the world it targets.
//! 2. [`Contract::check_imports`]: every import is an interface the platform
//!    gives. The allowed set is derived from the WIT itself: the imports of
//!    the contract's worlds (`platform`: the Sluice interfaces and
//!    `wasi:http/outgoing-handler` with what they use, and the `types` the
//!    exports use) plus the imports of
//!    `wasi:cli/imports` that the runtime links without authority (no
//!    environment, arguments, preopened directories, and every socket or name
//!    lookup denied). `wasi:sockets` is accepted for that reason: language
//!    runtimes import it from their libc (componentize-py does) whether or not
//!    the connector opens a socket, and any attempt fails with
//!    `access-denied`. Versions match as the runtime's linker matches them
//!    (same major, and same minor below 1.0).
//! 3. [`Contract::check_exports`]: the component exports every interface of
//!    each world its manifest declares (`delivery` when it lists `events`,
//!    `sync` when it has `[sync]`, `inbound` when it exports
//!    `inbound-handler`), each function with the contract's exact signature,
//!    and nothing outside those worlds.
//!
//! The [`ComponentSurface`] (import and export names) feeds the capability
//! diff.

mod compare;
mod wit;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use sluice_manifest::Manifest;
use wit_parser::{InterfaceId, PackageId, Resolve, WorldId, WorldItem, WorldKey};

/// The package name of the contract.
pub const CONTRACT_PACKAGE: &str = "sluice:connector@0.1.1";

/// The contract's WIT files and their dependencies, by path from the
/// repository's root (`wit/model.wit`, `wit/deps/http/package.wit`): what a
/// connector project in another language builds its bindings from.
pub fn wit_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    wit::files()
}

/// Whether `package` (for example `sluice:connector@0.1.0`, as a package's
/// statement names the contract its component targets) is a version of the
/// contract this Sluice implements compatibly, so that components built
/// against it load here.
pub fn is_compatible_contract(package: &str) -> bool {
    let parse = |text: &str| {
        text.split_once('@').and_then(|(name, version)| {
            Some((name.to_owned(), semver::Version::parse(version).ok()?))
        })
    };
    match (parse(package), parse(CONTRACT_PACKAGE)) {
        (Some((name, theirs)), Some((ours_name, ours))) => {
            name == ours_name && versions_compatible(Some(&ours), Some(&theirs))
        }
        _ => false,
    }
}

/// What a component imports and exports, by fully qualified interface name
/// (`wasi:http/outgoing-handler@0.2.12`), each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSurface {
    /// Imported interfaces (or other imported items, by name).
    pub imports: Vec<String>,
    /// Exported interfaces (or other exported items, by name).
    pub exports: Vec<String>,
}

/// The bytes are not a usable component (the `component` step).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ComponentError(pub String);

/// An import the platform does not give (the `imports` step).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the component imports {import}, which the platform does not give: {reason}")]
pub struct ImportError {
    /// The offending import, for example `acme:evil/backdoor@1.0.0`.
    pub import: String,
    /// Why it is refused.
    pub reason: String,
}

/// The exports do not match the declared worlds (the `exports` step).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

/// A decoded component: its own view of what it imports and exports.
pub struct DecodedComponent {
    resolve: Resolve,
    world: WorldId,
}

impl std::fmt::Debug for DecodedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedComponent")
            .field("surface", &self.surface())
            .finish()
    }
}

/// Checks that `bytes` are a valid component and decodes the world it targets.
pub fn decode(bytes: &[u8]) -> Result<DecodedComponent, ComponentError> {
    if !wasmparser::Parser::is_component(bytes) {
        return Err(ComponentError(if wasmparser::Parser::is_core_wasm(bytes) {
            "this is a core WebAssembly module, not a component (build for wasm32-wasip2 or run `wasm-tools component new`)".to_owned()
        } else {
            "not WebAssembly: the file does not start with the component header".to_owned()
        }));
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| ComponentError(format!("not a valid component: {e}")))?;
    match wit_parser::decoding::decode(bytes) {
        Ok(wit_parser::decoding::DecodedWasm::Component(resolve, world)) => {
            Ok(DecodedComponent { resolve, world })
        }
        Ok(wit_parser::decoding::DecodedWasm::WitPackage(..)) => Err(ComponentError(
            "this is a WIT package encoded as wasm, not a component".to_owned(),
        )),
        Err(e) => Err(ComponentError(format!(
            "cannot read the component's types: {e:#}"
        ))),
    }
}

impl DecodedComponent {
    /// The component's imports and exports by name.
    pub fn surface(&self) -> ComponentSurface {
        let world = &self.resolve.worlds[self.world];
        let names = |keys: &mut dyn Iterator<Item = &WorldKey>| {
            keys.map(|key| self.resolve.name_world_key(key))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        ComponentSurface {
            imports: names(&mut world.imports.keys()),
            exports: names(&mut world.exports.keys()),
        }
    }
}

/// The contract: the WIT in `wit/`, compiled into this crate.
pub struct Contract {
    resolve: Resolve,
    package: PackageId,
    /// Interfaces a component may import.
    allowed_imports: Vec<InterfaceId>,
}

static CONTRACT: LazyLock<Contract> =
    LazyLock::new(|| Contract::from_wit().expect("the bundled WIT contract resolves"));

/// The versioned identity of an interface: package namespace, package name,
/// interface name, and the version.
struct InterfaceName<'a> {
    namespace: &'a str,
    package: &'a str,
    interface: &'a str,
    version: Option<&'a semver::Version>,
}

impl Contract {
    /// The contract this build of Sluice implements.
    pub fn get() -> &'static Contract {
        &CONTRACT
    }

    fn from_wit() -> Result<Self, String> {
        let (resolve, package) = wit::load()?;
        let world = |name: &str, pkg: PackageId| {
            resolve.packages[pkg]
                .worlds
                .get(name)
                .copied()
                .ok_or_else(|| format!("world {name} missing from the contract"))
        };
        // Every world of the contract includes `platform`; their elaborated
        // imports add the `types` interface the exports use.
        let contract_worlds: Vec<WorldId> =
            resolve.packages[package].worlds.values().copied().collect();
        let cli = resolve
            .package_names
            .iter()
            .find(|(name, _)| name.namespace == "wasi" && name.name == "cli")
            .map(|(_, id)| *id)
            .ok_or("wasi:cli missing from wit/deps")?;
        let cli_imports = world("imports", cli)?;
        let mut allowed_imports = Vec::new();
        for world in contract_worlds.into_iter().chain([cli_imports]) {
            for item in resolve.worlds[world].imports.values() {
                if let WorldItem::Interface { id, .. } = item
                    && !allowed_imports.contains(id)
                {
                    allowed_imports.push(*id);
                }
            }
        }
        Ok(Self {
            resolve,
            package,
            allowed_imports,
        })
    }

    /// The interfaces a component may import, by name, sorted.
    pub fn allowed_imports(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .allowed_imports
            .iter()
            .filter_map(|id| self.resolve.id_of(*id))
            .collect();
        names.sort();
        names
    }

    /// Checks that every import of `component` is an interface the platform
    /// gives, naming the first that is not.
    pub fn check_imports(&self, component: &DecodedComponent) -> Result<(), ImportError> {
        let resolve = &component.resolve;
        for (key, item) in &resolve.worlds[component.world].imports {
            let import = resolve.name_world_key(key);
            let WorldItem::Interface { id, .. } = item else {
                // Types a world imports alongside interfaces carry no capability.
                if matches!(item, WorldItem::Type { .. }) {
                    continue;
                }
                return Err(ImportError {
                    import,
                    reason: "a bare function import; the platform gives only interfaces".into(),
                });
            };
            let theirs = interface_name(resolve, *id);
            if is_legacy_model(resolve, *id, &theirs) {
                continue;
            }
            let same_name = self.allowed_imports.iter().find(|ours| {
                let ours = interface_name(&self.resolve, **ours);
                (ours.namespace, ours.package, ours.interface)
                    == (theirs.namespace, theirs.package, theirs.interface)
            });
            match same_name {
                None => {
                    return Err(ImportError {
                        import,
                        reason: "it is not an interface of world sluice:connector/platform nor of the WASI the runtime links".into(),
                    });
                }
                Some(ours) => {
                    let ours = interface_name(&self.resolve, *ours);
                    if !versions_compatible(ours.version, theirs.version) {
                        return Err(ImportError {
                            import,
                            reason: format!(
                                "the platform gives version {} of it",
                                ours.version.map(ToString::to_string).unwrap_or_default()
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks that `component` exports exactly the worlds `manifest`
    /// declares, with the contract's function signatures. Returns the names
    /// of the worlds it implements.
    pub fn check_exports(
        &self,
        component: &DecodedComponent,
        manifest: &Manifest,
    ) -> Result<Vec<&'static str>, ExportError> {
        let resolve = &component.resolve;
        let exports: Vec<(String, InterfaceId)> = resolve.worlds[component.world]
            .exports
            .iter()
            .filter(|(key, item)| !is_componentize_py_init(key, item))
            .map(|(key, item)| match item {
                WorldItem::Interface { id, .. } => Ok((resolve.name_world_key(key), *id)),
                _ => Err(ExportError(format!(
                    "it exports {}, which is not an interface of {CONTRACT_PACKAGE}",
                    resolve.name_world_key(key)
                ))),
            })
            .collect::<Result<_, _>>()?;
        let find = |interface: &str| {
            exports.iter().find(|(_, id)| {
                let name = interface_name(resolve, *id);
                (name.namespace, name.package, name.interface) == ("sluice", "connector", interface)
            })
        };

        let mut worlds = Vec::new();
        if !manifest.events.is_empty() {
            worlds.push("delivery");
        }
        if manifest.sync.is_some() {
            worlds.push("sync");
        }
        if find("inbound-handler").is_some() {
            worlds.push("inbound");
        }
        if worlds.is_empty() {
            return Err(ExportError(format!(
                "it implements none of the worlds delivery, sync or inbound of {CONTRACT_PACKAGE} (the manifest lists no events and has no [sync], and the component does not export inbound-handler)"
            )));
        }

        let mut expected: Vec<InterfaceId> = Vec::new();
        for world in &worlds {
            let world_id = self.resolve.packages[self.package].worlds[*world];
            for item in self.resolve.worlds[world_id].exports.values() {
                let WorldItem::Interface { id: ours, .. } = item else {
                    continue;
                };
                let name = interface_name(&self.resolve, *ours);
                let Some((export, theirs)) = find(name.interface) else {
                    return Err(ExportError(format!(
                        "world {world} ({}) needs the export sluice:connector/{}, which the component lacks",
                        why_declared(world),
                        name.interface
                    )));
                };
                if !versions_compatible(name.version, interface_name(resolve, *theirs).version) {
                    return Err(ExportError(format!(
                        "{export} is not version {CONTRACT_PACKAGE} of the contract"
                    )));
                }
                compare::interface(&self.resolve, *ours, resolve, *theirs).map_err(|e| {
                    ExportError(format!("{export} does not match the contract: {e}"))
                })?;
                expected.push(*ours);
            }
        }
        for (export, theirs) in &exports {
            let name = interface_name(resolve, *theirs);
            let declared = expected.iter().any(|ours| {
                let ours = interface_name(&self.resolve, *ours);
                (ours.namespace, ours.package, ours.interface)
                    == (name.namespace, name.package, name.interface)
            });
            if !declared {
                let hint = match name.interface {
                    "deliverer" => " (it exports deliverer but the manifest lists no events)",
                    "syncer" => " (it exports syncer but the manifest has no [sync] section)",
                    _ => "",
                };
                return Err(ExportError(format!(
                    "it exports {export}, which is outside the worlds its manifest declares ({}){hint}",
                    worlds.join(", ")
                )));
            }
        }
        Ok(worlds)
    }
}

/// componentize-py leaves the export it snapshots the interpreter with (an
/// unnamed interface `exports` with `init`) in every component it builds; it
/// is never called at run time and carries no capability.
fn is_componentize_py_init(key: &WorldKey, item: &WorldItem) -> bool {
    matches!((key, item), (WorldKey::Name(name), WorldItem::Interface { .. }) if name == "exports")
}

fn why_declared(world: &str) -> &'static str {
    match world {
        "delivery" => "declared by the manifest's events",
        "sync" => "declared by the manifest's [sync] section",
        _ => "implied by the inbound-handler export",
    }
}

fn interface_name(resolve: &Resolve, id: InterfaceId) -> InterfaceName<'_> {
    let interface = &resolve.interfaces[id];
    let package = interface.package.map(|p| &resolve.packages[p].name);
    InterfaceName {
        namespace: package.map_or("", |p| p.namespace.as_str()),
        package: package.map_or("", |p| p.name.as_str()),
        interface: interface.name.as_deref().unwrap_or(""),
        version: package.and_then(|p| p.version.as_ref()),
    }
}

/// Whether `id` is the data model under its name before contract 0.1.1,
/// `types`: it holds types only, so it gives no capability, and the runtime
/// links it for components built against 0.1.0.
fn is_legacy_model(resolve: &Resolve, id: InterfaceId, name: &InterfaceName<'_>) -> bool {
    (name.namespace, name.package, name.interface) == ("sluice", "connector", "types")
        && name
            .version
            .is_some_and(|version| is_compatible_contract(&format!("sluice:connector@{version}")))
        && resolve.interfaces[id].functions.is_empty()
}

/// Whether a component built against `theirs` links against `ours`: same
/// major version, and the same minor below 1.0 (semver compatibility, as
/// the runtime's linker matches imports).
fn versions_compatible(ours: Option<&semver::Version>, theirs: Option<&semver::Version>) -> bool {
    match (ours, theirs) {
        (Some(ours), Some(theirs)) => {
            ours.major == theirs.major && (ours.major > 0 || ours.minor == theirs.minor)
        }
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
