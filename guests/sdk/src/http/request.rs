//! Building and sending a request.

use std::time::Duration;

use serde::Serialize;

use super::error::{HttpError, HttpErrorKind};
use super::response::{Response, StreamingResponse};
use super::url::RequestTarget;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;

/// Largest response body [`Request::send`] reads unless told otherwise.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// `blocking-write-and-flush` accepts at most this many bytes per call.
const WRITE_CHUNK_BYTES: usize = 4096;

/// An HTTP request being built; [`send`](Self::send) it when complete.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Why the request cannot be sent, found while building it; reported by
    /// `send` so that the builder methods can be chained.
    invalid: Option<String>,
    timeout: Option<Duration>,
    max_response_bytes: u64,
}

impl Request {
    /// A request with `method` to the absolute `url`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            invalid: None,
            timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }

    /// A `PATCH` request.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::Patch, url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Adds header `name: value`; a header may be given several times.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Has the host authenticate the request with credential `key`, as the
    /// manifest's `auth` table for it says; the component never sees the
    /// secret. The host refuses the request if its origin is not one the
    /// credential is bound to.
    pub fn authenticated(self, key: &str) -> Self {
        match crate::auth::request_header(key) {
            Ok((name, value)) => self.header(name, value),
            Err(error) => Self {
                invalid: Some(error.to_string()),
                ..self
            },
        }
    }

    /// Sets the body to `bytes`, sent as they are.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = bytes.into();
        self
    }

    /// Sets the body to `value` serialised as JSON, with
    /// `Content-Type: application/json; charset=utf-8`.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.json_raw(bytes),
            Err(error) => Self {
                invalid: Some(format!("the JSON body cannot be serialised: {error}")),
                ..self
            },
        }
    }

    /// Sets the body to an already serialised JSON document, with
    /// `Content-Type: application/json; charset=utf-8`.
    pub fn json_raw(self, json: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json; charset=utf-8")
            .body(json)
    }

    /// Asks the host to give up connecting, waiting for the first byte, or
    /// waiting between two bytes after `timeout`. The host's own limits apply
    /// in any case.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the largest response body [`send`](Self::send) reads before
    /// failing with [`HttpErrorKind::ResponseTooLarge`]; the default is
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]. The host's own cap applies in any case.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        let limit = self.max_response_bytes;
        let StreamingResponse {
            status,
            headers,
            body,
        } = self.send_streaming()?;
        Ok(Response {
            status,
            headers,
            body: body.read_to_end(limit)?,
        })
    }

    /// Sends the request and returns the response as soon as its headers
    /// arrive, leaving the body to be read chunk by chunk.
    pub fn send_streaming(self) -> Result<StreamingResponse, HttpError> {
        if let Some(problem) = self.invalid {
            return Err(HttpError::new(HttpErrorKind::InvalidRequest, problem));
        }
        let target = RequestTarget::parse(&self.url)
            .map_err(|problem| HttpError::new(HttpErrorKind::InvalidRequest, problem))?;
        let request = self.outgoing_request(&target)?;
        let body = request
            .body()
            .map_err(|()| invalid("the request body was already taken"))?;
        let options = self.options()?;
        let pending = outgoing_handler::handle(request, options).map_err(HttpError::from_code)?;
        // The body is written after `handle` so that the host streams it out
        // as it comes; written before, a large body would fill the host's
        // buffer with nobody reading it.
        if let Err(write_error) = write_body(&body, &self.body) {
            drop(body);
            // An abandoned body ends the request; the host's reason for
            // refusing it, if any, is the more useful error.
            return Err(wait_for(&pending).err().unwrap_or(write_error));
        }
        OutgoingBody::finish(body, None).map_err(HttpError::from_code)?;
        StreamingResponse::read_head(wait_for(&pending)?)
    }

    fn outgoing_request(&self, target: &RequestTarget) -> Result<OutgoingRequest, HttpError> {
        let mut entries: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone().into_bytes()))
            .collect();
        if !self.body.is_empty() || method_sends_body(&self.method) {
            entries.push((
                "content-length".into(),
                self.body.len().to_string().into_bytes(),
            ));
        }
        let headers = Fields::from_list(&entries)
            .map_err(|error| invalid(format!("a header is not allowed or malformed: {error:?}")))?;
        let request = OutgoingRequest::new(headers);
        let scheme = if target.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        request
            .set_method(&self.method)
            .map_err(|()| invalid(format!("method {:?} is not valid", self.method)))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| invalid("the URL scheme is not valid"))?;
        request
            .set_authority(Some(&target.authority))
            .map_err(|()| invalid(format!("host {:?} is not valid", target.authority)))?;
        request
            .set_path_with_query(Some(&target.path_with_query))
            .map_err(|()| invalid(format!("path {:?} is not valid", target.path_with_query)))?;
        Ok(request)
    }

    fn options(&self) -> Result<Option<RequestOptions>, HttpError> {
        let Some(timeout) = self.timeout else {
            return Ok(None);
        };
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let options = RequestOptions::new();
        let unsupported = |()| invalid("the host does not support request timeouts");
        options
            .set_connect_timeout(Some(nanos))
            .map_err(unsupported)?;
        options
            .set_first_byte_timeout(Some(nanos))
            .map_err(unsupported)?;
        options
            .set_between_bytes_timeout(Some(nanos))
            .map_err(unsupported)?;
        Ok(Some(options))
    }
}

fn invalid(problem: impl Into<String>) -> HttpError {
    HttpError::new(HttpErrorKind::InvalidRequest, problem)
}

/// Methods whose requests carry a body, so that an empty one is announced
/// with `Content-Length: 0` as servers expect.
fn method_sends_body(method: &Method) -> bool {
    matches!(method, Method::Post | Method::Put | Method::Patch)
}

/// Streams `bytes` into the request body.
fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    let stream = body
        .write()
        .map_err(|()| invalid("the request body stream was already taken"))?;
    for chunk in bytes.chunks(WRITE_CHUNK_BYTES) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|error| stream_error(error, "the request body stream closed early"))?;
    }
    Ok(())
}

/// The error behind a failed stream operation, as the host reported it.
pub(super) fn stream_error(error: StreamError, closed: &str) -> HttpError {
    match error {
        StreamError::Closed => HttpError::new(HttpErrorKind::Connection, closed),
        StreamError::LastOperationFailed(io_error) => {
            match crate::bindings::wasi::http::types::http_error_code(&io_error) {
                Some(code) => HttpError::from_code(code),
                None => HttpError::new(HttpErrorKind::Connection, io_error.to_debug_string()),
            }
        }
    }
}

/// Blocks until the response head arrives or the request fails.
fn wait_for(pending: &FutureIncomingResponse) -> Result<IncomingResponse, HttpError> {
    loop {
        match pending.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(HttpError::from_code(code)),
            Some(Err(())) => {
                return Err(HttpError::new(
                    HttpErrorKind::Protocol,
                    "the response was already taken",
                ));
            }
            None => pending.subscribe().block(),
        }
    }
}
