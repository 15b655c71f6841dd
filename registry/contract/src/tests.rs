use super::*;

/// A real component (a core module with `unreachable` bodies, encoded with
/// wit-component) targeting world `test` of `wit`, resolved against the
/// contract and its WASI dependencies.
fn component(wit: &str) -> Vec<u8> {
    let (mut resolve, _) = wit::load().unwrap();
    let package = resolve.push_source("test.wit", wit).unwrap();
    build(&resolve, package)
}

/// The same, against a resolve of `wit` alone (to impersonate the contract).
fn component_alone(wit: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = resolve.push_source("test.wit", wit).unwrap();
    build(&resolve, package)
}

fn build(resolve: &Resolve, package: PackageId) -> Vec<u8> {
    let world = resolve.select_world(&[package], Some("test")).unwrap();
    let mut module =
        wit_component::dummy_module(resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

fn manifest(extra: &str) -> Manifest {
    Manifest::parse(&format!(
        "id = \"test\"\nname = \"T\"\nversion = \"1.0.0\"\ncategory = \"c\"\ndescription = \"d\"\n{extra}"
    ))
    .unwrap()
}

fn delivery_with(imports: &str) -> Vec<u8> {
    component(&format!(
        "package test:c; world test {{ include sluice:connector/delivery@0.1.1; {imports} }}"
    ))
}

#[test]
fn a_delivery_component_passes_and_its_surface_lists_imports_and_exports() {
    let decoded = decode(&delivery_with("import wasi:cli/environment@0.2.12;")).unwrap();
    Contract::get().check_imports(&decoded).unwrap();
    let worlds = Contract::get()
        .check_exports(&decoded, &manifest("events = [\"order.*\"]"))
        .unwrap();
    assert_eq!(worlds, ["delivery"]);
    let surface = decoded.surface();
    assert_eq!(
        surface.exports,
        [
            "sluice:connector/connection@0.1.1",
            "sluice:connector/deliverer@0.1.1"
        ]
    );
    for import in [
        "sluice:connector/credentials@0.1.1",
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:cli/environment@0.2.12",
    ] {
        assert!(
            surface.imports.iter().any(|i| i == import),
            "{import}: {surface:?}"
        );
    }
}

#[test]
fn importing_wasi_sockets_is_accepted_since_the_runtime_denies_every_socket() {
    // componentize-py's libc imports wasi:sockets whatever the connector does.
    let decoded = decode(&delivery_with("import wasi:sockets/tcp@0.2.12;")).unwrap();
    Contract::get().check_imports(&decoded).unwrap();
}

#[test]
fn importing_a_made_up_interface_is_refused_naming_it() {
    let bytes = component(
        "package acme:evil@1.0.0;
         interface backdoor { open: func() -> string; }
         world test { include sluice:connector/delivery@0.1.1; import backdoor; }",
    );
    let error = Contract::get()
        .check_imports(&decode(&bytes).unwrap())
        .unwrap_err();
    assert_eq!(error.import, "acme:evil/backdoor@1.0.0");
    assert!(
        error
            .to_string()
            .contains("not an interface of world sluice:connector/platform")
    );
}

#[test]
fn a_contract_interface_of_another_minor_version_is_refused() {
    let bytes = component_alone(
        "package sluice:connector@0.2.0;
         interface log { write: func(message: string); }
         world test { import log; }",
    );
    let error = Contract::get()
        .check_imports(&decode(&bytes).unwrap())
        .unwrap_err();
    assert_eq!(error.import, "sluice:connector/log@0.2.0");
    assert!(error.reason.contains("version 0.1.1"), "{error}");
}

#[test]
fn the_allowed_imports_come_from_the_platform_world_and_linked_wasi() {
    let allowed = Contract::get().allowed_imports();
    for name in [
        "sluice:connector/credentials@0.1.1",
        "sluice:connector/state@0.1.1",
        "sluice:connector/log@0.1.1",
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:http/types@0.2.12",
        "wasi:io/streams@0.2.12",
        "wasi:filesystem/preopens@0.2.12",
        "wasi:random/random@0.2.12",
    ] {
        assert!(
            allowed.iter().any(|a| a == name),
            "{name} missing from {allowed:?}"
        );
    }
    assert!(allowed.iter().any(|a| a.starts_with("wasi:sockets/tcp@")));
    assert!(
        !allowed
            .iter()
            .any(|a| a.starts_with("wasi:http/incoming-handler"))
    );
}

#[test]
fn a_declared_world_without_its_exports_is_refused() {
    let decoded = decode(&delivery_with("")).unwrap();
    let error = Contract::get()
        .check_exports(
            &decoded,
            &manifest("events = [\"order.*\"]\n[sync]\nentities = [\"orders\"]"),
        )
        .unwrap_err();
    assert!(
        error.0.contains("world sync (declared by the manifest's [sync] section) needs the export sluice:connector/syncer"),
        "{error}"
    );

    let only_deliverer = component(
        "package test:c; world test { include sluice:connector/platform@0.1.1; export sluice:connector/deliverer@0.1.1; }",
    );
    let error = Contract::get()
        .check_exports(
            &decode(&only_deliverer).unwrap(),
            &manifest("events = [\"*\"]"),
        )
        .unwrap_err();
    assert!(
        error
            .0
            .contains("needs the export sluice:connector/connection"),
        "{error}"
    );
}

#[test]
fn exports_outside_the_declared_worlds_are_refused() {
    let both = component(
        "package test:c; world test { include sluice:connector/delivery@0.1.1; include sluice:connector/sync@0.1.1; }",
    );
    let error = Contract::get()
        .check_exports(
            &decode(&both).unwrap(),
            &manifest("[sync]\nentities = [\"orders\"]"),
        )
        .unwrap_err();
    assert!(
        error
            .0
            .contains("exports deliverer but the manifest lists no events"),
        "{error}"
    );

    let nothing =
        component("package test:c; world test { include sluice:connector/platform@0.1.1; }");
    let error = Contract::get()
        .check_exports(&decode(&nothing).unwrap(), &manifest(""))
        .unwrap_err();
    assert!(error.0.contains("implements none of the worlds"), "{error}");
}

#[test]
fn componentize_py_init_export_is_ignored_but_other_extra_exports_are_refused() {
    let events = manifest("events = [\"order.*\"]");
    let python = delivery_with(
        "export exports: interface { init: func(app-name: string, stub-wasi: bool) -> result<_, string>; }",
    );
    let worlds = Contract::get()
        .check_exports(&decode(&python).unwrap(), &events)
        .unwrap();
    assert_eq!(worlds, ["delivery"]);

    let backdoor = delivery_with("export backdoor: interface { open: func() -> string; }");
    let error = Contract::get()
        .check_exports(&decode(&backdoor).unwrap(), &events)
        .unwrap_err();
    assert!(error.0.contains("it exports backdoor"), "{error}");
}

#[test]
fn an_export_with_the_wrong_signature_is_refused_naming_the_function() {
    let bytes = component_alone(
        "package sluice:connector@0.1.1;
         interface deliverer { deliver: func(event: string) -> u32; }
         interface connection { test-connection: func(context: string) -> bool; }
         world test { export deliverer; export connection; }",
    );
    let error = Contract::get()
        .check_exports(&decode(&bytes).unwrap(), &manifest("events = [\"*\"]"))
        .unwrap_err();
    assert!(
        error.0.contains("sluice:connector/deliverer@0.1.1 does not match the contract: function deliver: takes 1 parameters, the contract says 2"),
        "{error}"
    );
}

#[test]
fn a_record_with_a_changed_field_type_is_refused() {
    // The contract's `connection-check` with `ok` as a string.
    let mut resolve = Resolve::default();
    let contract_types = include_str!("../../../wit/model.wit");
    let package = resolve
        .push_source("model.wit", &format!("package sluice:connector@0.1.1;\n{contract_types}\ninterface connection {{ use model.{{invocation-context}}; record connection-check {{ status: string, message: string, steps: list<tuple<string, string>> }} test-connection: func(context: invocation-context) -> connection-check; }}\ninterface deliverer {{ use model.{{invocation-context, event, delivery-outcome}}; deliver: func(context: invocation-context, event: event) -> delivery-outcome; }}\nworld test {{ export deliverer; export connection; }}"))
        .unwrap();
    let bytes = build(&resolve, package);
    let error = Contract::get()
        .check_exports(&decode(&bytes).unwrap(), &manifest("events = [\"*\"]"))
        .unwrap_err();
    assert!(error.0.contains("connection@0.1.1 does not match the contract: function test-connection: result: in connection-check: field status: is string"), "{error}");
}

#[test]
fn a_core_module_or_garbage_is_not_a_component() {
    let error = decode(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(error.0.contains("core WebAssembly module"), "{error}");
    let error = decode(b"hello").unwrap_err();
    assert!(error.0.contains("not WebAssembly"), "{error}");
    let mut truncated = delivery_with("");
    truncated.truncate(truncated.len() / 2);
    assert!(
        decode(&truncated)
            .unwrap_err()
            .0
            .contains("not a valid component")
    );
}

#[test]
fn packages_built_against_an_earlier_compatible_contract_are_accepted() {
    assert!(is_compatible_contract("sluice:connector@0.1.0"));
    assert!(is_compatible_contract(CONTRACT_PACKAGE));
    assert!(!is_compatible_contract("sluice:connector@0.2.0"));
    assert!(!is_compatible_contract("acme:connector@0.1.1"));
    assert!(!is_compatible_contract("sluice:connector"));
}

#[test]
fn a_component_built_against_contract_0_1_0_passes_under_the_data_models_old_name() {
    // Built before the data model was renamed from `types` to `model`.
    let bytes = include_bytes!("../../../tests/fixtures/contract-0.1.0/well_behaved.wasm");
    let component = decode(bytes).unwrap();
    let imports = component.surface().imports;
    assert!(
        imports.iter().any(|i| i == "sluice:connector/types@0.1.0"),
        "{imports:?}"
    );
    Contract::get().check_imports(&component).unwrap();
}
