//! Host-side bindings generated from the WIT contract in `wit/`.
//!
//! One world includes every adapter world, so that the generated types are
//! shared; a component need not export everything: [`crate::connector`]
//! detects which exports it has and loads only those.

#![allow(missing_docs, reason = "bindgen-generated code")]

wasmtime::component::bindgen!({
    inline: "
        package sluice:host;
        world connector {
            include sluice:connector/delivery@0.1.1;
            include sluice:connector/sync@0.1.1;
            include sluice:connector/inbound@0.1.1;
        }
    ",
    path: "../../wit",
    world: "sluice:host/connector",
    imports: {
        "sluice:connector/auth": async | trappable,
        "sluice:connector/credentials": async | trappable,
        "sluice:connector/state": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
    require_store_data_send: true,
    additional_derives: [serde::Serialize, PartialEq],
});

pub use exports::sluice::connector::{connection, deliverer, inbound_handler, syncer};
/// The contract's data model, under the name Rust code has always used.
pub use sluice::connector::model as types;
pub use sluice::connector::{auth, credentials, log, model, state};
