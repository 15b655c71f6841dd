//! The Google Shopping connector: products and their availability into a
//! Merchant Center data source through the Merchant API v1.
//!
//! - Access: the host holds the service account's JSON key (manifest scheme
//!   `oauth2-jwt-bearer`): it signs the assertion, trades it at Google's
//!   token endpoint, caches the access token and adds it to Merchant API
//!   requests, renewing it once when Google refuses it. The component holds
//!   no secret; it asks for the token per request ([`merchant_api`]) and
//!   turns the host's failures to get one into outcomes ([`token`]).
//! - Delivery ([`deliver`]): `product.updated` inserts the whole product
//!   input (price in micros, availability and condition as Google's enums,
//!   [`product_input`]); `inventory.updated` patches its availability with
//!   an update mask. Google's `google.rpc.Status` errors map onto outcomes:
//!   quota, outages and server errors retry (honouring `Retry-After`),
//!   invalid arguments, missing permission and unknown products fail with
//!   Google's status and message.
//! - Connection check ([`check`]): a read of the data source, with the
//!   host's access token.

mod check;
mod config;
mod deliver;
mod merchant_api;
mod product_input;
mod token;

use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, Event, InvocationContext,
};

struct GoogleShopping;

sluice_guest::connector!(GoogleShopping, worlds: [delivery]);

impl Deliverer for GoogleShopping {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        deliver::deliver(&context, &event)
    }
}

impl Connection for GoogleShopping {
    fn test_connection(context: InvocationContext) -> ConnectionCheck {
        check::test_connection(&context)
    }
}
