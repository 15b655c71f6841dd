//! Who an authenticated request acts as, and what it may touch.

use std::sync::Arc;

use crate::{Scope, ScopeSet};

/// The identity an authenticated request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An operator holding an admin token: every store, every action.
    Operator {
        /// The admin token's id (`adm_...`).
        token_id: String,
    },
    /// A store's credential: its store only, within its scopes.
    Store(Arc<StoreAccess>),
}

/// What a store credential grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreAccess {
    /// The one store it acts for.
    pub store_id: String,
    /// Its scopes (for an access token, those granted to the token).
    pub scopes: ScopeSet,
    /// The credential (`crd_...`).
    pub credential_id: String,
    /// How it was presented.
    pub via: Via,
}

/// How a store credential was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An API key.
    ApiKey,
    /// An OAuth client's id and secret.
    ClientSecret,
    /// An access token from the token endpoint.
    AccessToken,
}

impl Via {
    /// `api_key`, `client_secret` or `access_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::ClientSecret => "client_secret",
            Self::AccessToken => "access_token",
        }
    }
}

/// Why a principal may not do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The resource belongs to another store: answer 404, as if it did not
    /// exist, so a credential learns nothing about other stores.
    OtherStore,
    /// The credential lacks this scope: answer 403 naming it.
    MissingScope(Scope),
    /// Only an operator may do this: answer 403.
    OperatorOnly,
}

impl Principal {
    /// Who acted, as the audit log records it: `operator:adm_...` or
    /// `credential:crd_...`.
    pub fn actor(&self) -> String {
        match self {
            Self::Operator { token_id } => format!("operator:{token_id}"),
            Self::Store(access) => format!("credential:{}", access.credential_id),
        }
    }

    /// The store a store credential is bound to; none for an operator.
    pub fn store_id(&self) -> Option<&str> {
        match self {
            Self::Operator { .. } => None,
            Self::Store(access) => Some(&access.store_id),
        }
    }

    /// Whether it is an operator.
    pub fn is_operator(&self) -> bool {
        matches!(self, Self::Operator { .. })
    }

    /// Whether it may act on `store_id` at all.
    pub fn may_access_store(&self, store_id: &str) -> bool {
        match self {
            Self::Operator { .. } => true,
            Self::Store(access) => access.store_id == store_id,
        }
    }

    /// Whether it may do what `scope` covers, on `store` when the action is
    /// about one store. The store is checked first: another store's
    /// resources are not found, whatever the scopes.
    pub fn allows(&self, store: Option<&str>, scope: Scope) -> Result<(), Denied> {
        match self {
            Self::Operator { .. } => Ok(()),
            Self::Store(access) => {
                if store.is_some_and(|store| store != access.store_id) {
                    return Err(Denied::OtherStore);
                }
                if !access.scopes.contains(scope) {
                    return Err(Denied::MissingScope(scope));
                }
                Ok(())
            }
        }
    }

    /// The scopes it holds; every scope for an operator.
    pub fn scopes(&self) -> ScopeSet {
        match self {
            Self::Operator { .. } => Scope::ALL.iter().copied().collect(),
            Self::Store(access) => access.scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_key(scopes: &[&str]) -> Principal {
        Principal::Store(Arc::new(StoreAccess {
            store_id: "store_1".into(),
            scopes: ScopeSet::parse(scopes.iter().copied()).unwrap(),
            credential_id: "crd_1".into(),
            via: Via::ApiKey,
        }))
    }

    #[test]
    fn another_stores_resource_is_not_found_before_scopes_are_checked() {
        let key = store_key(&["deliveries:read"]);
        assert_eq!(
            key.allows(Some("store_2"), Scope::DeliveriesRead),
            Err(Denied::OtherStore)
        );
        assert_eq!(
            key.allows(Some("store_2"), Scope::WebhooksManage),
            Err(Denied::OtherStore)
        );
        assert_eq!(key.allows(Some("store_1"), Scope::DeliveriesRead), Ok(()));
        assert_eq!(
            key.allows(Some("store_1"), Scope::WebhooksManage),
            Err(Denied::MissingScope(Scope::WebhooksManage))
        );
    }

    #[test]
    fn operators_may_do_everything_everywhere() {
        let operator = Principal::Operator {
            token_id: "adm_1".into(),
        };
        assert_eq!(
            operator.allows(Some("any"), Scope::CredentialsManage),
            Ok(())
        );
        assert_eq!(operator.actor(), "operator:adm_1");
        assert_eq!(store_key(&[]).actor(), "credential:crd_1");
        assert!(
            operator
                .scopes()
                .covers(store_key(&["orders:read"]).scopes())
        );
    }
}
