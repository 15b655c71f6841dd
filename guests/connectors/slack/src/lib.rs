//! The Slack connector.
//!
//! - Delivery: renders each platform event as a Block Kit message
//!   ([`layouts`]) and posts it through an incoming webhook or as a bot with
//!   `chat.postMessage`, depending on setting `mode` ([`destination`]); maps
//!   Slack's answers onto delivery outcomes ([`post`]).
//! - Connection check: `auth.test` for a bot token; a format check for an
//!   incoming-webhook URL, which Slack offers no way to test ([`check`]).
//! - Inbound: turns Events API `event_callback`s into `slack.<type>`
//!   platform events ([`events_api`]); the host has verified their signature.
//!
//! The component holds no secret: the host applies the bot token or the
//! webhook URL to the requests (the manifest binds each to Slack's origin)
//! and checks the signing secret's signature on inbound requests.

mod blocks;
mod check;
mod destination;
mod events_api;
mod layouts;
mod post;
mod slack_errors;

use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InboundAccepted,
    InboundHandler, InboundRejection, InboundRequest, InvocationContext,
};

use crate::destination::Destination;

struct Slack;

sluice_guest::connector!(Slack, worlds: [delivery, inbound]);

impl Deliverer for Slack {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        match Destination::from_configuration(&context) {
            Ok(destination) => post::send(&destination, &layouts::render(&event), context.now_ms),
            Err(problem) => DeliveryOutcome::failed(problem),
        }
    }
}

impl Connection for Slack {
    fn test_connection(context: InvocationContext) -> ConnectionCheck {
        check::test_connection(&context)
    }
}

impl InboundHandler for Slack {
    fn handle(
        _context: InvocationContext,
        request: InboundRequest,
    ) -> Result<InboundAccepted, InboundRejection> {
        events_api::handle(&request)
    }
}
