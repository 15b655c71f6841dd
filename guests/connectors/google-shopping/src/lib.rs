//! The Google Shopping connector: products and their availability into a
//! Merchant Center data source through the Merchant API v1.
//!
//! - Access: the service account's JSON key signs a JWT assertion (RS256,
//!   inside the component, [`jwt`]) that Google's token endpoint trades for
//!   an access token, cached in the configuration's state until shortly
//!   before it expires and refreshed once when Google refuses it ([`token`],
//!   [`merchant_api`]).
//! - Delivery ([`deliver`]): `product.updated` inserts the whole product
//!   input (price in micros, availability and condition as Google's enums,
//!   [`product_input`]); `inventory.updated` patches its availability with
//!   an update mask. Google's `google.rpc.Status` errors map onto outcomes:
//!   quota, outages and server errors retry (honouring `Retry-After`),
//!   invalid arguments, missing permission and unknown products fail with
//!   Google's status and message.
//! - Connection check ([`check`]): a token exchange and a read of the data
//!   source.

mod check;
mod config;
mod deliver;
mod jwt;
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
