//! A blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! Every request leaves through the host, which checks it against the
//! manifest's allowed origins and the operator's policy, resolves the name
//! itself, refuses private addresses and caps time, size and count. A
//! refusal comes back as an [`HttpError`] of kind [`HttpErrorKind::Refused`].
//!
//! ```ignore
//! let response = Request::post("https://slack.com/api/chat.postMessage")
//!     .bearer_auth(&token)
//!     .json(&message)
//!     .send()?;
//! let answer: Answer = response.json()?;
//! ```
//!
//! [`Request::send`] reads the whole response body, up to
//! [`Request::max_response_bytes`]; [`Request::send_streaming`] hands the
//! body over chunk by chunk.

mod error;
mod request;
mod response;
mod url;

pub use crate::bindings::wasi::http::types::Method;
pub use error::{HttpError, HttpErrorKind};
pub use request::{DEFAULT_MAX_RESPONSE_BYTES, Request};
pub use response::{BodyReader, Response, StreamingResponse};
