//! The admin console on the bench data set: how long each main page takes
//! to render, signed in as the operator, over loopback HTTP.

use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use crate::percentiles;
use crate::report::{Backend, figure};
use crate::service::TOKEN;

/// Requests per page.
const SAMPLES: usize = 20;

/// A cookie jar of one: the console session.
struct Console {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Console {
    /// Signs in with the admin token through the sign-in form.
    async fn sign_in(client: &reqwest::Client, base: &str) -> anyhow::Result<Self> {
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let form = no_redirects
            .get(format!("{base}/console/sign-in"))
            .send()
            .await?;
        let sign_in_cookie = first_cookie(&form)?;
        let page = form.text().await?;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .context("the sign-in form carries a token")?
            .to_owned();
        let signed_in = no_redirects
            .post(format!("{base}/console/sign-in"))
            .header("cookie", sign_in_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("csrf", csrf.as_str()),
                        ("token", TOKEN),
                        ("next", "/console"),
                    ])
                    .finish(),
            )
            .send()
            .await?;
        anyhow::ensure!(
            signed_in.status().is_redirection(),
            "sign-in answered {}",
            signed_in.status()
        );
        Ok(Self {
            client: client.clone(),
            base: base.to_owned(),
            cookie: first_cookie(&signed_in)?,
        })
    }

    /// Median and slowest time of `path`, in ms.
    async fn time(&self, path: &str) -> anyhow::Result<(f64, f64)> {
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let started = Instant::now();
            let response = self
                .client
                .get(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .send()
                .await?;
            let status = response.status();
            let body = response.bytes().await?;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(status.is_success(), "{path}: {status}");
            anyhow::ensure!(body.len() > 500, "{path}: a page, not {} bytes", body.len());
        }
        let slowest = samples.iter().copied().fold(0.0, f64::max);
        let (p50, _) = percentiles(&mut samples);
        Ok((p50, slowest))
    }
}

fn first_cookie(response: &reqwest::Response) -> anyhow::Result<String> {
    let header = response
        .headers()
        .get("set-cookie")
        .context("a cookie is set")?
        .to_str()?;
    Ok(header.split(';').next().unwrap_or_default().to_owned())
}

/// The id of the newest delivery of `store`.
async fn newest_delivery(
    client: &reqwest::Client,
    base: &str,
    store: &str,
) -> anyhow::Result<String> {
    let page: Value = client
        .get(format!("{base}/v1/stores/{store}/deliveries?limit=1"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    page["items"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .context("the store has deliveries")
}

/// Times the console's main pages on the data the service bench left: stores
/// `wh` (webhook deliveries) and `sl` (Slack connector deliveries).
pub(crate) async fn run(
    label: &str,
    backend: Option<Backend>,
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<()> {
    let console = Console::sign_in(client, base).await?;
    let webhook_delivery = newest_delivery(client, base, "wh").await?;
    let slack_delivery = newest_delivery(client, base, "sl").await?;
    let configs: Value = client
        .get(format!("{base}/v1/stores/sl/connectors"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let config = configs["items"][0]["id"]
        .as_str()
        .context("a configuration")?;
    // Each page with the name its figures have (its path holds ids).
    let pages = [
        ("stores", "/console/stores".to_owned()),
        ("deliveries", "/console/stores/wh/deliveries".to_owned()),
        (
            "deliveries_filtered",
            "/console/stores/wh/deliveries?status=delivered&event_type=order.placed".to_owned(),
        ),
        (
            "deliveries_no_match",
            "/console/stores/wh/deliveries?event_type=no.such.type".to_owned(),
        ),
        (
            "deliveries_next_page",
            format!("/console/stores/wh/deliveries?cursor={webhook_delivery}"),
        ),
        (
            "webhook_delivery",
            format!("/console/stores/wh/deliveries/{webhook_delivery}"),
        ),
        (
            "connector_delivery",
            format!("/console/stores/sl/deliveries/{slack_delivery}"),
        ),
        ("dead_letters", "/console/stores/wh/dead-letters".to_owned()),
        ("webhooks", "/console/stores/wh/webhooks".to_owned()),
        ("connectors", "/console/stores/sl/connectors".to_owned()),
        (
            "connector_configuration",
            format!("/console/stores/sl/connectors/{config}"),
        ),
        ("sync", "/console/stores/sl/sync".to_owned()),
        ("credentials", "/console/stores/sl/credentials".to_owned()),
        ("registry", "/console/registry".to_owned()),
        ("registry_connector", "/console/registry/slack".to_owned()),
    ];
    let mut slowest = (0.0, String::new());
    for (name, page) in &pages {
        let (p50, max) = console.time(page).await?;
        println!(
            "console on {label}: {page}: p50 {p50:.1} ms, max {max:.1} ms ({SAMPLES} requests)"
        );
        figure(format!("console.{name}.p50_ms"), p50, "ms", backend);
        figure(format!("console.{name}.max_ms"), max, "ms", backend);
        if max > slowest.0 {
            slowest = (max, page.clone());
        }
    }
    println!(
        "console on {label}: slowest page {:.1} ms ({})",
        slowest.0, slowest.1
    );
    figure("console.slowest_page_ms", slowest.0, "ms", backend);
    Ok(())
}
