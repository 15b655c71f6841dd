//! The `connector!` macro of the Sluice guest SDK.
//!
//! Use it through `sluice_guest::connector!`; this crate exists only because
//! the macro has to compute the world and the location of the WIT contract,
//! which a `macro_rules!` macro cannot do. See the `sluice-guest` docs.

use std::path::Path;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token, bracketed, parse_macro_input};

/// The contract, found relative to this crate (`guests/sdk/macros`), so that
/// every crate using the SDK resolves the same `wit/` wherever it sits.
const WIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../wit");

/// Interfaces the SDK already binds; a connector's bindings reuse them so that
/// the SDK's types and HTTP client work with the connector's exports.
const SHARED_INTERFACES: &[(&str, &str)] = &[
    ("sluice:connector/model@0.1.1", "sluice::connector::model"),
    ("sluice:connector/auth@0.1.1", "sluice::connector::auth"),
    (
        "sluice:connector/credentials@0.1.1",
        "sluice::connector::credentials",
    ),
    ("sluice:connector/state@0.1.1", "sluice::connector::state"),
    ("sluice:connector/log@0.1.1", "sluice::connector::log"),
    ("wasi:http/types@0.2.12", "wasi::http::types"),
    (
        "wasi:http/outgoing-handler@0.2.12",
        "wasi::http::outgoing_handler",
    ),
    ("wasi:io/error@0.2.12", "wasi::io::error"),
    ("wasi:io/poll@0.2.12", "wasi::io::poll"),
    ("wasi:io/streams@0.2.12", "wasi::io::streams"),
    (
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi::clocks::monotonic_clock",
    ),
];

/// Generates a connector's bindings for the listed worlds, forwards each
/// export to the SDK trait the type implements, and exports the type.
///
/// ```ignore
/// struct Slack;
/// sluice_guest::connector!(Slack, worlds: [delivery, inbound]);
/// ```
#[proc_macro]
pub fn connector(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as ConnectorInput);
    expand(&input).into()
}

/// One of the adapter worlds of `sluice:connector@0.1.1`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum World {
    Delivery,
    Sync,
    Inbound,
}

impl World {
    fn parse(ident: &Ident) -> syn::Result<Self> {
        match ident.to_string().as_str() {
            "delivery" => Ok(Self::Delivery),
            "sync" => Ok(Self::Sync),
            "inbound" => Ok(Self::Inbound),
            other => Err(syn::Error::new(
                ident.span(),
                format!("unknown world `{other}`; expected delivery, sync or inbound"),
            )),
        }
    }

    fn wit_name(self) -> &'static str {
        match self {
            Self::Delivery => "delivery",
            Self::Sync => "sync",
            Self::Inbound => "inbound",
        }
    }
}

/// `Type, worlds: [delivery, inbound]`.
struct ConnectorInput {
    connector: syn::Path,
    worlds: Vec<World>,
}

impl Parse for ConnectorInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let connector = input.parse()?;
        input.parse::<Token![,]>()?;
        let keyword: Ident = input.parse()?;
        if keyword != "worlds" {
            return Err(syn::Error::new(keyword.span(), "expected `worlds: [...]`"));
        }
        input.parse::<Token![:]>()?;
        let list;
        let bracket = bracketed!(list in input);
        let idents = Punctuated::<Ident, Token![,]>::parse_terminated(&list)?;
        input.parse::<Option<Token![,]>>()?;
        let mut worlds = Vec::new();
        for ident in &idents {
            let world = World::parse(ident)?;
            if worlds.contains(&world) {
                return Err(syn::Error::new(ident.span(), "world listed twice"));
            }
            worlds.push(world);
        }
        if worlds.is_empty() {
            return Err(syn::Error::new(
                bracket.span.join(),
                "list at least one world",
            ));
        }
        Ok(Self { connector, worlds })
    }
}

fn expand(input: &ConnectorInput) -> TokenStream2 {
    let includes: String = input
        .worlds
        .iter()
        .map(|w| format!("include sluice:connector/{}@0.1.1; ", w.wit_name()))
        .collect();
    let inline = LitStr::new(
        &format!("package sluice:guest-connector; world connector {{ {includes}}}"),
        Span::call_site(),
    );
    let wit_dir = LitStr::new(&wit_dir(), Span::call_site());
    let with = SHARED_INTERFACES.iter().map(|(interface, module)| {
        let path: syn::Path = syn::parse_str(&format!("::sluice_guest::bindings::{module}"))
            .expect("module paths in SHARED_INTERFACES are valid Rust paths");
        quote!(#interface: #path,)
    });
    let connector = connector_path(&input.connector);
    let forwards = forwarding_impls(&input.worlds);
    quote! {
        #[doc(hidden)]
        #[allow(missing_docs)]
        mod __sluice_connector_exports {
            type Connector = #connector;

            ::sluice_guest::__private::wit_bindgen::generate!({
                inline: #inline,
                path: #wit_dir,
                world: "sluice:guest-connector/connector",
                runtime_path: "::sluice_guest::__private::wit_bindgen::rt",
                with: { #(#with)* },
            });

            #forwards

            export!(Connector);
        }
    }
}

/// The contract directory, canonicalised so that errors show a clean path.
fn wit_dir() -> String {
    let dir = Path::new(WIT_DIR);
    dir.canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// The connector type as seen from inside the generated module.
fn connector_path(path: &syn::Path) -> TokenStream2 {
    let first = path.segments.first().map(|s| s.ident.to_string());
    if path.leading_colon.is_some() || matches!(first.as_deref(), Some("crate" | "self" | "super"))
    {
        quote!(#path)
    } else {
        quote!(super::#path)
    }
}

/// `impl <generated Guest trait> for Connector` for each export, forwarding
/// to the SDK trait of the same name.
fn forwarding_impls(worlds: &[World]) -> TokenStream2 {
    let types = quote!(::sluice_guest::types);
    let exports = quote!(exports::sluice::connector);
    let mut impls = TokenStream2::new();
    if worlds.contains(&World::Delivery) {
        impls.extend(quote! {
            impl #exports::deliverer::Guest for Connector {
                fn deliver(context: #types::InvocationContext, event: #types::Event) -> #types::DeliveryOutcome {
                    <Connector as ::sluice_guest::Deliverer>::deliver(context, event)
                }
            }
        });
    }
    if worlds.contains(&World::Delivery) || worlds.contains(&World::Sync) {
        impls.extend(quote! {
            impl #exports::connection::Guest for Connector {
                fn test_connection(context: #types::InvocationContext) -> #types::ConnectionCheck {
                    <Connector as ::sluice_guest::Connection>::test_connection(context)
                }
            }
        });
    }
    if worlds.contains(&World::Sync) {
        impls.extend(quote! {
            impl #exports::syncer::Guest for Connector {
                fn sync(
                    context: #types::InvocationContext,
                    request: #types::SyncRequest,
                ) -> ::core::result::Result<#types::SyncBatch, #types::SyncError> {
                    <Connector as ::sluice_guest::Syncer>::sync(context, request)
                }
            }
        });
    }
    if worlds.contains(&World::Inbound) {
        impls.extend(quote! {
            impl #exports::inbound_handler::Guest for Connector {
                fn handle(
                    context: #types::InvocationContext,
                    request: #types::InboundRequest,
                ) -> ::core::result::Result<#types::InboundAccepted, #types::InboundRejection> {
                    <Connector as ::sluice_guest::InboundHandler>::handle(context, request)
                }
            }
        });
    }
    impls
}
