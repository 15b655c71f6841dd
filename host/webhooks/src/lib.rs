//! Outbound webhooks: signing secrets, signatures and the sender.

pub mod secret;
pub mod sender;
pub mod signature;

pub use secret::{SecretError, WebhookSecret};
pub use sender::{Classification, Outgoing, Sent, WebhookSender, event_body};
pub use signature::{SignedHeaders, SigningInput, body_signature, sign};
