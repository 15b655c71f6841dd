//! Reading a response.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::error::{HttpError, HttpErrorKind};
use super::request::stream_error;
use crate::bindings::wasi::http::types::{IncomingBody, IncomingResponse};
use crate::bindings::wasi::io::streams::InputStream;
use crate::time::retry_after_seconds;

/// Bytes asked for per read of the response body.
const READ_CHUNK_BYTES: u64 = 64 * 1024;

/// A response read in full by [`Request::send`](super::Request::send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The headers, names in lower case, in the order received; values that
    /// are not UTF-8 are decoded lossily.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with `status`, `headers` (name, value) and `body`, as if
    /// received: for testing code that reads answers.
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            body: body.into(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (any case), or `None`.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text; bytes that are not UTF-8 are replaced.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The delay the `Retry-After` header asks for, in seconds from `now_ms`
    /// (the invocation context's `now_ms`), when there is a valid one.
    pub fn retry_after(&self, now_ms: u64) -> Option<u32> {
        self.header("retry-after")
            .and_then(|value| retry_after_seconds(value, now_ms))
    }
}

/// A response whose body has not been read yet, from
/// [`Request::send_streaming`](super::Request::send_streaming).
#[derive(Debug)]
pub struct StreamingResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The headers, as in [`Response::headers`].
    pub headers: Vec<(String, String)>,
    /// The body, still to be read.
    pub body: BodyReader,
}

impl StreamingResponse {
    /// Takes the status and headers of `response` and opens its body.
    pub(super) fn read_head(response: IncomingResponse) -> Result<Self, HttpError> {
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let body = response
            .consume()
            .map_err(|()| protocol("the response body was already taken"))?;
        let stream = body
            .stream()
            .map_err(|()| protocol("the response body stream was already taken"))?;
        Ok(Self {
            status,
            headers,
            body: BodyReader {
                stream,
                _body: body,
                _response: response,
            },
        })
    }

    /// The first value of header `name` (any case), or `None`.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The body of a [`StreamingResponse`], read chunk by chunk.
#[derive(Debug)]
pub struct BodyReader {
    // Declared child first: fields drop in order, and `wasi:http` wants a
    // stream gone before its body, and a body before its response.
    stream: InputStream,
    _body: IncomingBody,
    _response: IncomingResponse,
}

impl BodyReader {
    /// The next chunk of the body, or `None` at its end. A body the host cuts
    /// off at its size cap fails with [`HttpErrorKind::ResponseTooLarge`].
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        loop {
            match self.stream.blocking_read(READ_CHUNK_BYTES) {
                Ok(chunk) if chunk.is_empty() => continue,
                Ok(chunk) => return Ok(Some(chunk)),
                Err(crate::bindings::wasi::io::streams::StreamError::Closed) => return Ok(None),
                Err(error) => return Err(stream_error(error, "the response body closed early")),
            }
        }
    }

    /// Reads the rest of the body, failing with
    /// [`HttpErrorKind::ResponseTooLarge`] beyond `limit` bytes.
    pub fn read_to_end(mut self, limit: u64) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk()? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(HttpError::new(
                    HttpErrorKind::ResponseTooLarge,
                    format!("the response body exceeds {limit} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn protocol(problem: &str) -> HttpError {
    HttpError::new(HttpErrorKind::Protocol, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_in_any_case() {
        let response = Response::new(200, &[("content-type", "text/plain")], "ok");
        assert_eq!(
            response.headers,
            [("content-type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(response.body, b"ok");
        assert_eq!(response.header("Content-Type"), Some("text/plain"));
        assert_eq!(response.header("retry-after"), None);
    }

    #[test]
    fn retry_after_reads_the_header() {
        let response = Response::new(429, &[("retry-after", "30")], "");
        assert_eq!(response.retry_after(0), Some(30));
    }

    #[test]
    fn json_and_text_read_the_body() {
        let response = Response::new(200, &[], r#"{"ok":true}"#);
        let value: serde_json::Value = response.json().unwrap();
        assert_eq!(value["ok"], true);
        assert_eq!(response.text(), r#"{"ok":true}"#);
        assert!(response.is_success());
    }
}
