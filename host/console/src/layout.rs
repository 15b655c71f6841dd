//! The page shell, navigation, notices, error pages and the small
//! formatting helpers every page uses.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use maud::{DOCTYPE, Markup, html};
use sluice_api::{AppState, Problem};
use sluice_core::UnixMillis;

use crate::session::{CSRF_FIELD, Session, cookie, set_cookie};

/// The cookie carrying a notice to the next page (after a redirect).
const FLASH_COOKIE: &str = "sluice_console_notice";

/// A message shown at the top of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Whether it reports a failure.
    pub error: bool,
    /// The words.
    pub message: String,
}

impl Notice {
    /// Something went well.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            error: false,
            message: message.into(),
        }
    }

    /// Something failed.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            error: true,
            message: message.into(),
        }
    }

    /// The notice as a banner; errors are announced to screen readers at once.
    pub fn render(&self) -> Markup {
        html! {
            @if self.error {
                div.notice.error role="alert" { (self.message) }
            } @else {
                div.notice.ok role="status" { (self.message) }
            }
        }
    }

    fn encode(&self) -> String {
        let text = format!("{}{}", if self.error { 'e' } else { 'o' }, self.message);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(value: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut chars = text.chars();
        let error = match chars.next()? {
            'e' => true,
            'o' => false,
            _ => return None,
        };
        Some(Self {
            error,
            message: chars.as_str().chars().take(500).collect(),
        })
    }
}

/// The sections of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Every delivery.
    Deliveries,
    /// Dead letters.
    DeadLetters,
    /// Webhook subscriptions.
    Webhooks,
    /// Connector configurations and the catalog.
    Connectors,
    /// Sync runs.
    Sync,
    /// API credentials.
    Credentials,
}

impl Nav {
    const ALL: [Nav; 6] = [
        Nav::Deliveries,
        Nav::DeadLetters,
        Nav::Webhooks,
        Nav::Connectors,
        Nav::Sync,
        Nav::Credentials,
    ];

    fn label(self) -> &'static str {
        match self {
            Nav::Deliveries => "Deliveries",
            Nav::DeadLetters => "Dead letters",
            Nav::Webhooks => "Webhooks",
            Nav::Connectors => "Connectors",
            Nav::Sync => "Sync runs",
            Nav::Credentials => "API credentials",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Nav::Deliveries => "deliveries",
            Nav::DeadLetters => "dead-letters",
            Nav::Webhooks => "webhooks",
            Nav::Connectors => "connectors",
            Nav::Sync => "sync",
            Nav::Credentials => "credentials",
        }
    }

    /// The scope a store key needs to see the section.
    fn scope(self) -> &'static str {
        match self {
            Nav::Deliveries | Nav::DeadLetters => "deliveries:read",
            Nav::Webhooks => "webhooks:manage",
            Nav::Connectors | Nav::Sync => "connectors:manage",
            Nav::Credentials => "credentials:manage",
        }
    }
}

/// What every store page has: who is signed in, which store, the time, and
/// a notice left by the previous action.
pub struct Ctx {
    /// Who is signed in.
    pub session: Session,
    /// The store shown.
    pub store: String,
    /// Now, from the service's clock.
    pub now: UnixMillis,
    /// A notice from the previous action, shown once.
    pub notice: Option<Notice>,
    host: HeaderMap,
}

impl FromRequestParts<Arc<AppState>> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let store = params
            .iter()
            .find(|(name, _)| *name == "store")
            .map(|(_, value)| value.to_owned())
            .ok_or_else(|| not_found_page("This page belongs to no store."))?;
        if !session.can_see(&store) {
            return Err(not_found_page(&format!(
                "There is no store {store:?} you can see."
            )));
        }
        let (notice, host) = flash(parts);
        Ok(Ctx {
            session,
            store,
            now: state.clock.now_ms(),
            notice,
            host,
        })
    }
}

/// The notice left by the previous action, and the `Host` header that
/// cookies are set for.
fn flash(parts: &Parts) -> (Option<Notice>, HeaderMap) {
    let notice = cookie(&parts.headers, FLASH_COOKIE).and_then(Notice::decode);
    let mut host = HeaderMap::new();
    if let Some(value) = parts.headers.get(header::HOST) {
        host.insert(header::HOST, value.clone());
    }
    (notice, host)
}

/// A finished page: never cached, and the notice it showed cleared.
fn finish(title: &str, shell: Markup, notice_shown: bool, host: &HeaderMap) -> Response {
    let mut response = document(title, shell).into_response();
    no_store(&mut response);
    if notice_shown {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(host, FLASH_COOKIE, "", 0));
    }
    response
}

/// The operator's header: the brand, the pages outside any store, who is
/// signed in and signing out.
fn operator_header(session: &Session) -> Markup {
    html! {
        header.top {
            a.brand href="/console" { span.brand-mark aria-hidden="true" { "◆" } " Sluice" }
            nav.operator aria-label="Operator" {
                a href="/console/stores" { "Stores" }
                a href=(crate::registry::BASE) { "Connector registry" }
            }
            span.who { (session.record.principal_label) }
            form.sign-out method="post" action="/console/sign-out" {
                input type="hidden" name=(CSRF_FIELD) value=(session.csrf());
                button.link type="submit" { "Sign out" }
            }
        }
    }
}

/// What a page outside any store has (the store list, the connector
/// registry): only the operator sees them; a store admin is sent home.
pub struct OperatorCtx {
    /// The operator's session.
    pub session: Session,
    /// Now, from the service's clock.
    pub now: UnixMillis,
    /// A notice from the previous action, shown once.
    pub notice: Option<Notice>,
    host: HeaderMap,
}

impl FromRequestParts<Arc<AppState>> for OperatorCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        if !session.is_operator() {
            return Err(Redirect::to(&session.home()).into_response());
        }
        let (notice, host) = flash(parts);
        Ok(Self {
            session,
            now: state.clock.now_ms(),
            notice,
            host,
        })
    }
}

impl OperatorCtx {
    /// The hidden CSRF field every form of this page carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.session.csrf()); }
    }

    /// A whole operator page.
    pub fn page(&self, title: &str, body: Markup) -> Response {
        let shell = html! {
            a.skip href="#main" { "Skip to content" }
            (operator_header(&self.session))
            main #main tabindex="-1" {
                @if let Some(notice) = &self.notice { (notice.render()) }
                (body)
            }
        };
        finish(title, shell, self.notice.is_some(), &self.host)
    }

    /// Redirects (303) to `to`, showing `notice` there.
    pub fn redirect(&self, to: &str, notice: Notice) -> Response {
        redirect_with(&self.host, to, notice)
    }
}

impl Ctx {
    /// `/console/stores/{store}/{rest}`.
    pub fn url(&self, rest: &str) -> String {
        format!("/console/stores/{}/{rest}", path_segment(&self.store))
    }

    /// The refusal, in words, of a session whose key lacks `scope`; none
    /// when it holds it.
    pub fn refusal(&self, scope: &str) -> Option<Response> {
        (!self.session.may(scope)).then(|| {
            error_page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                &format!("Your API key lacks the {scope} scope this page needs."),
            )
        })
    }

    /// The hidden CSRF field every form of this page carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.session.csrf()); }
    }

    /// A whole page of this store, under section `nav`.
    pub fn page(&self, title: &str, nav: Nav, body: Markup) -> Response {
        self.page_with(title, nav, body, None)
    }

    /// A page that refreshes itself every `refresh_seconds` (while something
    /// on it is still changing).
    pub fn page_with(
        &self,
        title: &str,
        nav: Nav,
        body: Markup,
        refresh_seconds: Option<u32>,
    ) -> Response {
        let shell = html! {
            a.skip href="#main" { "Skip to content" }
            header.top {
                a.brand href="/console" { span.brand-mark aria-hidden="true" { "◆" } " Sluice" }
                span.store {
                    "Store "
                    strong { (self.store) }
                    @if self.session.is_operator() {
                        " · " a href="/console/stores" { "change" }
                        " · " a href=(crate::registry::BASE) { "Connector registry" }
                    }
                }
                span.who { (self.session.record.principal_label) }
                form.sign-out method="post" action="/console/sign-out" {
                    (self.csrf())
                    button.link type="submit" { "Sign out" }
                }
            }
            div.frame {
                nav.side aria-label="Sections" {
                    ul {
                        @for item in Nav::ALL.into_iter().filter(|item| self.session.may(item.scope())) {
                            li {
                                @if item == nav {
                                    a href=(self.url(item.path())) aria-current="page" { (item.label()) }
                                } @else {
                                    a href=(self.url(item.path())) { (item.label()) }
                                }
                            }
                        }
                    }
                }
                main #main tabindex="-1" data-refresh=[refresh_seconds] {
                    @if let Some(notice) = &self.notice { (notice.render()) }
                    (body)
                }
            }
        };
        finish(title, shell, self.notice.is_some(), &self.host)
    }

    /// Redirects (303) to `to`, showing `notice` there.
    pub fn redirect(&self, to: &str, notice: Notice) -> Response {
        redirect_with(&self.host, to, notice)
    }
}

/// Redirects (303) to `to`, showing `notice` there.
pub fn redirect_with(headers: &HeaderMap, to: &str, notice: Notice) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, FLASH_COOKIE, &notice.encode(), 60),
    );
    response
}

/// A complete HTML document.
pub fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sluice" }
                link rel="stylesheet" href=(crate::assets::CSS_PATH);
                script src=(crate::assets::JS_PATH) defer {}
            }
            body { (body) }
        }
    }
}

/// Pages show live state: never cached.
pub fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A page saying what went wrong, in words.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        main.sign-in #main {
            h1 { (title) }
            div.notice.error role="alert" { (message) }
            p { a href="/console" { "Back to the console" } }
        }
    };
    let mut response = (status, document(title, body)).into_response();
    no_store(&mut response);
    response
}

/// The page of an API problem (the same words the API would answer).
pub fn problem_page(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_page(status, &problem.title, &problem.detail)
}

/// A 404 page.
pub fn not_found_page(message: &str) -> Response {
    error_page(StatusCode::NOT_FOUND, "Not found", message)
}

/// Unknown console paths.
pub async fn not_found() -> Response {
    not_found_page("There is no such page in the console.")
}

/// Percent-encodes `text` for one path segment.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Percent-encodes `text` for a query value.
pub fn query_value(text: &str) -> String {
    path_segment(text)
}

/// An exact UTC time, for titles and detail pages.
pub fn exact(ms: UnixMillis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// "3 min ago" (or "in 5 min"), with the exact time on hover and for
/// machines.
pub fn when(now: UnixMillis, ms: UnixMillis) -> Markup {
    let delta = (now - ms) / 1000;
    let (ahead, seconds) = (delta < 0, delta.unsigned_abs());
    let amount = match seconds {
        0..5 => "just now".to_owned(),
        5..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", seconds / 60),
        3_600..86_400 => format!("{} h", seconds / 3_600),
        _ => format!("{} d", seconds / 86_400),
    };
    let text = if amount == "just now" {
        amount
    } else if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    };
    html! {
        time datetime=(sluice_core::clock::format_rfc3339(ms)) title=(exact(ms)) { (text) }
    }
}

/// A duration in milliseconds, readable.
pub fn duration(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A byte count, readable.
pub fn bytes(n: u64) -> String {
    match n {
        0..1_024 => format!("{n} B"),
        1_024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// A status as a coloured label; the word itself carries the meaning.
pub fn pill(text: &str) -> Markup {
    let tone = match text {
        "delivered" | "ok" | "active" | "succeeded" => "good",
        "pending" | "retry" | "paused" | "partial" | "scheduled" | "manual" => "warn",
        "dead" | "failed" | "disabled" | "unauthorized" | "unreachable" | "misconfigured"
        | "refused" | "error" => "bad",
        _ => "neutral",
    };
    html! { span class={ "pill " (tone) } { (text) } }
}

/// `text` cut to `max` characters, with an ellipsis.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// A value that may be absent.
pub fn or_dash(value: Option<&str>) -> Markup {
    match value {
        Some(text) if !text.is_empty() => html! { (text) },
        _ => html! { span.muted { "—" } },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_survive_their_cookie() {
        let notice = Notice::error("Retry refused: delivered already; \"quoted\"");
        assert_eq!(Notice::decode(&notice.encode()), Some(notice));
        assert_eq!(Notice::decode("not base64!"), None);
    }

    #[test]
    fn times_read_as_people_say_them() {
        let now = 1_000_000_000;
        let text = |ms| when(now, ms).into_string();
        assert!(text(now - 2_000).contains(">just now<"));
        assert!(text(now - 125_000).contains(">2 min ago<"));
        assert!(text(now + 3_600_000).contains(">in 1 h<"));
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("store_1"), "store_1");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn statuses_get_a_tone() {
        assert!(pill("dead").into_string().contains("pill bad"));
        assert!(pill("delivered").into_string().contains("pill good"));
    }
}
