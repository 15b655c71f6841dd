//! Scopes: `{resource}:{action}` permissions a credential carries.
//!
//! The platform's scopes (`catalog:read`, `inventory:read`, ...) are checked
//! by the platform's gateway from the answer of the validate endpoint;
//! Sluice's own (`events:write`, `deliveries:read`, ...) are checked by
//! Sluice's API on every request of a store credential.

use std::fmt;

macro_rules! scopes {
    ($( $(#[$meta:meta])* $variant:ident = $text:literal, )+) => {
        /// One permission.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Scope {
            $( $(#[$meta])* $variant, )+
        }

        impl Scope {
            /// Every scope, in the order of their bits.
            pub const ALL: &'static [Scope] = &[$( Scope::$variant, )+];

            /// The scope's name, `{resource}:{action}`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Scope::$variant => $text, )+
                }
            }

            /// The scope named `text`, if it is one.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Scope::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

scopes! {
    /// Read the platform's catalog (products, prices).
    CatalogRead = "catalog:read",
    /// Read the platform's inventory levels.
    InventoryRead = "inventory:read",
    /// Change the platform's inventory levels.
    InventoryWrite = "inventory:write",
    /// Read the platform's orders.
    OrdersRead = "orders:read",
    /// Read the platform's customers.
    CustomersRead = "customers:read",
    /// Create, change, pause, delete webhook subscriptions and rotate their secrets.
    WebhooksManage = "webhooks:manage",
    /// Send events to Sluice (`POST /v1/events`) for the credential's store.
    EventsWrite = "events:write",
    /// Read deliveries, their attempts, and the events delivered.
    DeliveriesRead = "deliveries:read",
    /// Retry deliveries and dead letters.
    DeliveriesRetry = "deliveries:retry",
    /// Configure connectors, test connections, run and read syncs.
    ConnectorsManage = "connectors:manage",
    /// Issue, rotate and revoke the store's credentials (never with more
    /// scopes than the acting credential holds) and read their audit log.
    CredentialsManage = "credentials:manage",
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes (a bit set: cheap to copy and compare).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u32);

/// Names that are not scopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope{} {}; known scopes: {}", if .0.len() == 1 { "" } else { "s" }, quoted(.0), known())]
pub struct UnknownScopes(pub Vec<String>);

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known() -> String {
    Scope::ALL
        .iter()
        .map(|scope| scope.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ScopeSet {
    /// No scope.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    fn bit(scope: Scope) -> u32 {
        1 << (scope as u32)
    }

    /// Parses scope names; every unknown name is reported.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownScopes> {
        let mut set = Self::EMPTY;
        let mut unknown = Vec::new();
        for name in names {
            match Scope::parse(name) {
                Some(scope) => set.insert(scope),
                None => unknown.push(name.to_owned()),
            }
        }
        if unknown.is_empty() {
            Ok(set)
        } else {
            Err(UnknownScopes(unknown))
        }
    }

    /// Parses the space-separated `scope` parameter of OAuth 2.0 (RFC 6749 §3.3).
    pub fn parse_spaced(text: &str) -> Result<Self, UnknownScopes> {
        Self::parse(text.split(' ').filter(|name| !name.is_empty()))
    }

    /// Adds `scope`.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= Self::bit(scope);
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    /// Whether every scope of `other` is in the set.
    pub fn covers(self, other: ScopeSet) -> bool {
        other.0 & !self.0 == 0
    }

    /// The scopes of `self` that `other` lacks.
    pub fn without(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .iter()
            .copied()
            .filter(move |scope| self.contains(*scope))
    }

    /// The names, in declaration order.
    pub fn names(self) -> Vec<String> {
        self.iter().map(|scope| scope.as_str().to_owned()).collect()
    }

    /// The names separated by spaces, as OAuth 2.0 answers them.
    pub fn spaced(self) -> String {
        self.names().join(" ")
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        let mut set = Self::EMPTY;
        for scope in scopes {
            set.insert(scope);
        }
        set
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_parses_back_from_its_name() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(*scope));
        }
        assert!(Scope::ALL.len() < 32, "the set is a u32");
    }

    #[test]
    fn unknown_scopes_are_all_named() {
        let error = ScopeSet::parse(["orders:read", "orders:write", "admin"]).unwrap_err();
        assert_eq!(error.0, vec!["orders:write", "admin"]);
        let message = error.to_string();
        assert!(
            message.starts_with("unknown scopes \"orders:write\", \"admin\""),
            "{message}"
        );
        assert!(message.contains("catalog:read"), "{message}");
    }

    #[test]
    fn coverage_and_difference() {
        let held = ScopeSet::parse(["orders:read", "events:write"]).unwrap();
        let asked = ScopeSet::parse_spaced("orders:read  webhooks:manage").unwrap();
        assert!(!held.covers(asked));
        assert_eq!(asked.without(held).names(), vec!["webhooks:manage"]);
        assert!(held.covers(ScopeSet::parse_spaced("events:write").unwrap()));
        assert!(held.covers(ScopeSet::EMPTY));
        assert_eq!(held.spaced(), "orders:read events:write");
    }
}
