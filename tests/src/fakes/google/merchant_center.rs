//! What the fake Merchant Center holds: merchant accounts the service
//! account may or may not access, their API data sources, and their product
//! inputs.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_core::UnixMillis;

use super::api_error::{ApiError, RpcStatus};
use super::input_body::InputBody;
use super::product_input::{ProductInput, ProductKey};
use super::update_mask::UpdateMask;

/// The first merchant account id handed out; real ids are large numbers.
const FIRST_ACCOUNT_ID: u64 = 5_000_000_001;
/// The first data source id handed out.
const FIRST_DATA_SOURCE_ID: u64 = 10_000_000_001;

/// Whether the service account has been added as a user of a merchant
/// account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAccess {
    /// Calls on the account work.
    Granted,
    /// Calls on the account answer 403 `PERMISSION_DENIED`.
    NotGranted,
}

struct MerchantAccount {
    access: AccountAccess,
    /// Data source id to display name.
    data_sources: BTreeMap<u64, String>,
    products: BTreeMap<ProductKey, ProductInput>,
}

/// The accounts; the fake keeps them behind a mutex.
pub(super) struct MerchantCenter {
    accounts: BTreeMap<u64, MerchantAccount>,
    next_account_id: u64,
    next_data_source_id: u64,
}

impl Default for MerchantCenter {
    fn default() -> Self {
        Self {
            accounts: BTreeMap::new(),
            next_account_id: FIRST_ACCOUNT_ID,
            next_data_source_id: FIRST_DATA_SOURCE_ID,
        }
    }
}

impl MerchantCenter {
    pub(super) fn add_account(&mut self, access: AccountAccess) -> u64 {
        let id = self.next_account_id;
        self.next_account_id += 1;
        self.accounts.insert(
            id,
            MerchantAccount {
                access,
                data_sources: BTreeMap::new(),
                products: BTreeMap::new(),
            },
        );
        id
    }

    pub(super) fn set_access(&mut self, account: u64, access: AccountAccess) {
        self.account_mut(account).access = access;
    }

    /// Creates a primary API data source in `account` and returns its name.
    pub(super) fn add_data_source(&mut self, account: u64, display_name: &str) -> String {
        let id = self.next_data_source_id;
        self.next_data_source_id += 1;
        self.account_mut(account)
            .data_sources
            .insert(id, display_name.to_owned());
        data_source_name(account, id)
    }

    /// The account id in a URL, if the service account may use it. Unknown
    /// accounts answer like forbidden ones, so ids cannot be probed.
    pub(super) fn accessible_account(&self, segment: &str) -> Result<u64, ApiError> {
        let account: u64 = segment.parse().map_err(|_| {
            ApiError::invalid_argument(format!(
                "account: must be a numeric merchant account id, got {segment:?}"
            ))
        })?;
        match self.accounts.get(&account) {
            Some(known) if known.access == AccountAccess::Granted => Ok(account),
            _ => Err(ApiError::new(
                RpcStatus::PermissionDenied,
                format!("The caller does not have access to the accounts: [{account}]"),
            )),
        }
    }

    /// The `dataSource` query parameter, if it names a data source of
    /// `account`. Refused with 400 (not 404) so that a connector cannot
    /// mistake a misconfigured data source for a product already gone.
    pub(super) fn data_source(&self, account: u64, name: Option<&str>) -> Result<String, ApiError> {
        let name = name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ApiError::invalid_argument("dataSource: required field is missing"))?;
        let id = name
            .strip_prefix(&format!("accounts/{account}/dataSources/"))
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "dataSource: must be accounts/{account}/dataSources/<id>, got {name:?}"
                ))
            })?;
        if self.account(account).data_sources.contains_key(&id) {
            Ok(name.to_owned())
        } else {
            Err(ApiError::invalid_argument(format!(
                "dataSource: {name} does not exist"
            )))
        }
    }

    /// The `DataSource` resources of `account`.
    pub(super) fn data_sources_json(&self, account: u64) -> Vec<Value> {
        self.account(account)
            .data_sources
            .iter()
            .map(|(id, display_name)| data_source_json(account, *id, display_name))
            .collect()
    }

    /// The `DataSource` resource with id `segment`.
    pub(super) fn data_source_json(&self, account: u64, segment: &str) -> Result<Value, ApiError> {
        let id: Option<u64> = segment.parse().ok();
        id.and_then(|id| {
            let display_name = self.account(account).data_sources.get(&id)?;
            Some(data_source_json(account, id, display_name))
        })
        .ok_or_else(|| not_found(&format!("accounts/{account}/dataSources/{segment}")))
    }

    /// Inserts `body` as a product input, replacing the product with the same
    /// identity (and moving it to `data_source` if it was in another).
    pub(super) fn insert(
        &mut self,
        account: u64,
        data_source: String,
        body: InputBody,
        now: UnixMillis,
    ) -> Result<ProductInput, ApiError> {
        let key = body.key()?;
        let products = &mut self.account_mut(account).products;
        let existing = products.get(&key);
        if let (Some(sent), Some(current)) = (
            body.version_number,
            existing.and_then(|product| product.version_number),
        ) && sent < current
        {
            return Err(ApiError::new(
                RpcStatus::Aborted,
                format!("versionNumber: {sent} is lower than the current version {current}"),
            ));
        }
        let segment = key.segment();
        let product = ProductInput {
            account,
            name: format!("accounts/{account}/productInputs/{segment}"),
            product: format!("accounts/{account}/products/{segment}"),
            offer_id: key.offer_id.clone(),
            content_language: key.content_language.clone(),
            feed_label: key.feed_label.clone(),
            data_source,
            version_number: body.version_number,
            attributes: body.attributes,
            custom_attributes: body.custom_attributes,
            created_at: existing.map_or(now, |product| product.created_at),
            updated_at: now,
        };
        products.insert(key, product.clone());
        Ok(product)
    }

    /// Applies `body` through `mask` to the product input `segment` of
    /// `data_source`.
    pub(super) fn update(
        &mut self,
        account: u64,
        segment: &str,
        data_source: &str,
        body: &InputBody,
        mask: &UpdateMask,
        now: UnixMillis,
    ) -> Result<ProductInput, ApiError> {
        let product = self.input_mut(account, segment, data_source)?;
        mask.apply(body, product);
        product.updated_at = now;
        Ok(product.clone())
    }

    /// Deletes the product input `segment` of `data_source` and returns it.
    pub(super) fn delete(
        &mut self,
        account: u64,
        segment: &str,
        data_source: &str,
    ) -> Result<ProductInput, ApiError> {
        let key = self.input_mut(account, segment, data_source)?.key();
        Ok(self
            .account_mut(account)
            .products
            .remove(&key)
            .expect("input_mut found it"))
    }

    /// The processed product `segment`, in any data source.
    pub(super) fn product(&self, account: u64, segment: &str) -> Result<&ProductInput, ApiError> {
        let missing = || not_found(&format!("accounts/{account}/products/{segment}"));
        let key = ProductKey::parse_segment(segment).ok_or_else(missing)?;
        self.account(account).products.get(&key).ok_or_else(missing)
    }

    /// Every product input of `account`, ordered by identity.
    pub(super) fn products(&self, account: u64) -> Vec<ProductInput> {
        self.account(account).products.values().cloned().collect()
    }

    fn input_mut(
        &mut self,
        account: u64,
        segment: &str,
        data_source: &str,
    ) -> Result<&mut ProductInput, ApiError> {
        let name = format!("accounts/{account}/productInputs/{segment}");
        let key = ProductKey::parse_segment(segment).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "name: {name:?} is not accounts/<account>/productInputs/<contentLanguage>~<feedLabel>~<offerId>"
            ))
        })?;
        self.account_mut(account)
            .products
            .get_mut(&key)
            .filter(|product| product.data_source == data_source)
            .ok_or_else(|| not_found(&format!("{name} in {data_source}")))
    }

    fn account(&self, account: u64) -> &MerchantAccount {
        self.accounts
            .get(&account)
            .unwrap_or_else(|| panic!("fake Google has no merchant account {account}"))
    }

    fn account_mut(&mut self, account: u64) -> &mut MerchantAccount {
        self.accounts
            .get_mut(&account)
            .unwrap_or_else(|| panic!("fake Google has no merchant account {account}"))
    }
}

fn data_source_name(account: u64, id: u64) -> String {
    format!("accounts/{account}/dataSources/{id}")
}

fn data_source_json(account: u64, id: u64, display_name: &str) -> Value {
    json!({
        "name": data_source_name(account, id),
        "dataSourceId": id.to_string(),
        "displayName": display_name,
        "primaryProductDataSource": {},
        "input": "API",
    })
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        RpcStatus::NotFound,
        format!("Requested entity was not found: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> InputBody {
        InputBody::parse(value.to_string().as_bytes()).unwrap()
    }

    fn mug(attributes: Value) -> InputBody {
        body(
            json!({"offerId": "sku1", "contentLanguage": "en", "feedLabel": "US", "productAttributes": attributes}),
        )
    }

    fn center_with_source() -> (MerchantCenter, u64, String) {
        let mut center = MerchantCenter::default();
        let account = center.add_account(AccountAccess::Granted);
        let source = center.add_data_source(account, "Sluice");
        (center, account, source)
    }

    #[test]
    fn only_granted_accounts_are_accessible_and_unknown_ones_look_the_same() {
        let mut center = MerchantCenter::default();
        let granted = center.add_account(AccountAccess::Granted);
        let foreign = center.add_account(AccountAccess::NotGranted);
        assert_eq!(center.accessible_account(&granted.to_string()), Ok(granted));
        let denied = |account: u64| center.accessible_account(&account.to_string()).unwrap_err();
        assert_eq!(denied(foreign).status, RpcStatus::PermissionDenied);
        assert_eq!(
            denied(42).message,
            "The caller does not have access to the accounts: [42]"
        );
        assert_eq!(
            center.accessible_account("acme").unwrap_err().status,
            RpcStatus::InvalidArgument
        );
        center.set_access(foreign, AccountAccess::Granted);
        assert!(center.accessible_account(&foreign.to_string()).is_ok());
    }

    #[test]
    fn data_sources_must_exist_in_the_account_of_the_url() {
        let (mut center, account, source) = center_with_source();
        let other = center.add_account(AccountAccess::Granted);
        let elsewhere = center.add_data_source(other, "Other");
        assert_eq!(
            center.data_source(account, Some(&source)),
            Ok(source.clone())
        );
        let refusal = |name: Option<&str>| center.data_source(account, name).unwrap_err().message;
        assert_eq!(refusal(None), "dataSource: required field is missing");
        assert!(refusal(Some(&elsewhere)).starts_with("dataSource: must be accounts/"));
        let unknown = format!("accounts/{account}/dataSources/7");
        assert_eq!(
            refusal(Some(&unknown)),
            format!("dataSource: {unknown} does not exist")
        );
    }

    #[test]
    fn inserting_the_same_identity_replaces_and_keeps_the_creation_time() {
        let (mut center, account, source) = center_with_source();
        let first = center
            .insert(account, source.clone(), mug(json!({"title": "Mug"})), 1_000)
            .unwrap();
        assert_eq!(
            first.name,
            format!("accounts/{account}/productInputs/en~US~sku1")
        );
        assert_eq!(
            first.product,
            format!("accounts/{account}/products/en~US~sku1")
        );
        let second = center
            .insert(account, source, mug(json!({"title": "Big mug"})), 2_000)
            .unwrap();
        assert_eq!((second.created_at, second.updated_at), (1_000, 2_000));
        let [stored] = center.products(account).try_into().unwrap();
        assert_eq!(stored.text("title"), Some("Big mug"));
    }

    #[test]
    fn a_different_feed_label_is_a_different_product() {
        let (mut center, account, source) = center_with_source();
        center
            .insert(account, source.clone(), mug(json!({})), 0)
            .unwrap();
        let for_britain =
            body(json!({"offerId": "sku1", "contentLanguage": "en", "feedLabel": "GB"}));
        center.insert(account, source, for_britain, 0).unwrap();
        assert_eq!(center.products(account).len(), 2);
    }

    #[test]
    fn an_older_version_number_is_aborted() {
        let (mut center, account, source) = center_with_source();
        let versioned = |version: &str| {
            body(
                json!({"offerId": "sku1", "contentLanguage": "en", "feedLabel": "US", "versionNumber": version}),
            )
        };
        center
            .insert(account, source.clone(), versioned("5"), 0)
            .unwrap();
        let stale = center
            .insert(account, source.clone(), versioned("4"), 0)
            .unwrap_err();
        assert_eq!(stale.status, RpcStatus::Aborted);
        assert!(
            center.insert(account, source, versioned("5"), 0).is_ok(),
            "same version re-inserts"
        );
    }

    #[test]
    fn updates_and_deletes_need_the_input_in_the_named_data_source() {
        let (mut center, account, source) = center_with_source();
        let other_source = center.add_data_source(account, "Other");
        center
            .insert(account, source.clone(), mug(json!({"title": "Mug"})), 0)
            .unwrap();
        let mask = UpdateMask::parse("productAttributes.title").unwrap();
        let patch = body(json!({"productAttributes": {"title": "Cup"}}));

        let wrong_source = center.update(account, "en~US~sku1", &other_source, &patch, &mask, 5);
        assert_eq!(wrong_source.unwrap_err().status, RpcStatus::NotFound);
        let missing = center.delete(account, "en~US~nope", &source);
        assert_eq!(missing.unwrap_err().status, RpcStatus::NotFound);
        let malformed = center.delete(account, "en~US", &source);
        assert_eq!(malformed.unwrap_err().status, RpcStatus::InvalidArgument);

        let updated = center
            .update(account, "en~US~sku1", &source, &patch, &mask, 5)
            .unwrap();
        assert_eq!(
            (updated.text("title"), updated.updated_at),
            (Some("Cup"), 5)
        );
        let deleted = center.delete(account, "en~US~sku1", &source).unwrap();
        assert_eq!(deleted.text("title"), Some("Cup"));
        assert!(center.product(account, "en~US~sku1").is_err());
    }

    #[test]
    fn data_sources_render_as_primary_api_sources() {
        let (center, account, source) = center_with_source();
        let id = source.rsplit('/').next().unwrap();
        let expected = json!({
            "name": source, "dataSourceId": id, "displayName": "Sluice",
            "primaryProductDataSource": {}, "input": "API"
        });
        assert_eq!(center.data_sources_json(account), vec![expected.clone()]);
        assert_eq!(center.data_source_json(account, id), Ok(expected));
        assert_eq!(
            center.data_source_json(account, "1").unwrap_err().status,
            RpcStatus::NotFound
        );
    }
}
