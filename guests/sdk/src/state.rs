//! Small key/value state kept per configuration, for cached access tokens,
//! remote ids and cursors.
//!
//! The host bounds the size of keys and values and the number of keys, and
//! expires values written with a TTL on its own clock.

use crate::bindings::sluice::connector::state;
use crate::log;

pub use state::StateError;

/// How long before its expiry a cached token stops being used, in seconds,
/// so that a token is never sent just as it expires.
pub const TOKEN_EXPIRY_MARGIN_SECONDS: u32 = 60;

/// The bytes stored under `key`, or `None` when absent or expired.
pub fn get(key: &str) -> Option<Vec<u8>> {
    state::get(key)
}

/// The text stored under `key`, or `None` when absent, expired or not UTF-8.
pub fn get_string(key: &str) -> Option<String> {
    state::get(key).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Stores `value` under `key`; with `ttl_seconds` it expires that many
/// seconds from now.
pub fn set(key: &str, value: &[u8], ttl_seconds: Option<u32>) -> Result<(), StateError> {
    state::set(key, value, ttl_seconds)
}

/// Stores the text `value` under `key`; see [`set`].
pub fn set_string(key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), StateError> {
    state::set(key, value.as_bytes(), ttl_seconds)
}

/// Removes `key`; removing an absent key is not an error.
pub fn delete(key: &str) {
    state::delete(key);
}

/// An access token cached under `key`, fetched with `fetch` when there is
/// none or it is about to expire.
///
/// `fetch` returns the token and its lifetime in seconds (the `expires_in` of
/// an OAuth answer). The token is kept until [`TOKEN_EXPIRY_MARGIN_SECONDS`]
/// before it expires; a token living less than that is used but not cached.
/// When the remote system refuses a cached token (HTTP 401 or 403), call
/// [`invalidate_token`] so that the next call fetches a fresh one.
///
/// ```ignore
/// let token = state::cached_token("access_token", || exchange_refresh_token(&credentials))?;
/// ```
pub fn cached_token<E>(
    key: &str,
    fetch: impl FnOnce() -> Result<(String, u32), E>,
) -> Result<String, E> {
    if let Some(token) = get_string(key) {
        return Ok(token);
    }
    let (token, expires_in) = fetch()?;
    if let Some(ttl) = token_cache_ttl(expires_in) {
        // The token is good even if the host cannot keep it; the next call
        // then fetches another one.
        if let Err(error) = set_string(key, &token, Some(ttl)) {
            log::warn(
                "could not cache the access token",
                &[("key", key), ("error", error.message())],
            );
        }
    }
    Ok(token)
}

/// Forgets the token cached under `key` by [`cached_token`], for example
/// after the remote system answered 401 or 403 with it.
pub fn invalidate_token(key: &str) {
    delete(key);
}

/// How long to keep a token living `expires_in` seconds, or `None` when it
/// is not worth caching.
fn token_cache_ttl(expires_in: u32) -> Option<u32> {
    expires_in
        .checked_sub(TOKEN_EXPIRY_MARGIN_SECONDS)
        .filter(|ttl| *ttl > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_cached_until_the_margin_before_expiry() {
        assert_eq!(
            token_cache_ttl(3600),
            Some(3600 - TOKEN_EXPIRY_MARGIN_SECONDS)
        );
    }

    #[test]
    fn tokens_living_less_than_the_margin_are_not_cached() {
        assert_eq!(token_cache_ttl(TOKEN_EXPIRY_MARGIN_SECONDS), None);
        assert_eq!(token_cache_ttl(10), None);
    }
}
