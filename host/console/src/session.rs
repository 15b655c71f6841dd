//! Signing in and out, the session cookie and CSRF tokens.
//!
//! Signing in takes the operator's admin token or a store-scoped API key,
//! checks it the way the API does (`sluice_credentials`, with its limits on
//! repeated failures from one source), and stores a session under the SHA-256 of
//! a random id; only that id goes to the browser, in an HttpOnly
//! `SameSite=Strict` cookie (`Secure` unless the console is opened on a
//! loopback address, where browsers run plain HTTP). Every form carries the
//! session's CSRF token and is refused without it; the sign-in form, which
//! has no session yet, carries a token matched against a short-lived cookie.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use maud::html;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sluice_api::AppState;
use sluice_credentials::{AuthError, Presented, Principal, ScopeSet, StoreAccess, Via};
use sluice_storage::{ConsoleSession, StorageError};
use subtle::ConstantTimeEq;

use crate::form::Fields;
use crate::layout::{self, Notice};

/// The cookie holding the session id.
pub const SESSION_COOKIE: &str = "sluice_console";
/// The cookie holding the sign-in form's CSRF token.
const SIGN_IN_COOKIE: &str = "sluice_console_sign_in";
/// How long a session lasts: a working day.
pub const SESSION_LIFETIME_MS: i64 = 8 * 60 * 60 * 1000;
/// The form field every POST carries.
pub const CSRF_FIELD: &str = "csrf";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
}

/// Who is signed in, and what they may see.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stored session.
    pub record: ConsoleSession,
}

impl Session {
    /// Whether this is the operator (every store, every action).
    pub fn is_operator(&self) -> bool {
        self.record.store_id.is_none()
    }

    /// Whether the session may see `store_id`.
    pub fn can_see(&self, store_id: &str) -> bool {
        self.record
            .store_id
            .as_deref()
            .is_none_or(|own| own == store_id)
    }

    /// Whether the session holds `scope` (`{resource}:{action}`); the
    /// operator holds every scope.
    pub fn may(&self, scope: &str) -> bool {
        self.is_operator() || self.record.scopes.iter().any(|held| held == scope)
    }

    /// The token forms of this session carry.
    pub fn csrf(&self) -> &str {
        &self.record.csrf_token
    }

    /// The principal this session acts as, for audited actions.
    pub fn principal(&self) -> Principal {
        match &self.record.store_id {
            None => Principal::Operator {
                token_id: self.record.principal_id.clone(),
            },
            Some(store_id) => Principal::Store(Arc::new(StoreAccess {
                store_id: store_id.clone(),
                scopes: ScopeSet::parse(self.record.scopes.iter().map(String::as_str))
                    .unwrap_or_default(),
                credential_id: self.record.principal_id.clone(),
                via: Via::ApiKey,
            })),
        }
    }

    /// Where this session starts: its store, or the operator's store list.
    pub fn home(&self) -> String {
        match &self.record.store_id {
            Some(store) => format!("/console/stores/{}/deliveries", layout::path_segment(store)),
            None => "/console/stores".to_owned(),
        }
    }
}

/// Hex SHA-256: how session ids are stored.
fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// 32 random bytes, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the request was made to a loopback host, where the console runs
/// on plain HTTP and a `Secure` cookie would not come back.
fn on_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A `Set-Cookie` value for the console's cookies.
pub(crate) fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_s: i64,
) -> HeaderValue {
    let secure = if on_loopback(headers) { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie names and values are header-safe")
}

impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/console");
            Redirect::to(&format!(
                "/console/sign-in?next={}",
                layout::query_value(next)
            ))
            .into_response()
        };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(sign_in());
        };
        let now = state.clock.now_ms();
        let record = match state.db.find_console_session(&hash(id), now).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(sign_in()),
            Err(error) => return Err(layout::problem_page(sluice_api::Problem::from(error))),
        };
        // A store key's session lasts only while the key is valid.
        if let Some(store_id) = &record.store_id {
            match state
                .db
                .get_credential(store_id, &record.principal_id)
                .await
            {
                Ok(credential)
                    if credential.active && credential.expires_at.is_none_or(|at| at > now) => {}
                Ok(_) | Err(StorageError::NotFound { .. }) => {
                    if let Err(error) = state.db.delete_console_session(&record.id_hash).await {
                        return Err(layout::problem_page(error.into()));
                    }
                    return Err(sign_in());
                }
                Err(error) => return Err(layout::problem_page(error.into())),
            }
        }
        Ok(Session { record })
    }
}

/// A submitted form whose CSRF token matched the session's.
pub struct Submitted {
    /// Who submitted it.
    pub session: Session,
    /// The form's fields.
    pub fields: Fields,
}

impl FromRequest<Arc<AppState>> for Submitted {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(forbidden("the form was sent from another site"));
        }
        let fields = Fields::from_request(Request::from_parts(parts, body), state).await?;
        let presented = fields.get(CSRF_FIELD).unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(session.csrf().as_bytes())) {
            return Err(forbidden(
                "the form's security token does not match your session; reload the page and try again",
            ));
        }
        Ok(Submitted { session, fields })
    }
}

/// A request whose `Origin` (when the browser sends one) names this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn forbidden(message: &str) -> Response {
    layout::error_page(StatusCode::FORBIDDEN, "Refused", message)
}

/// `GET /console`: the session's home, or the sign-in page.
pub async fn home(session: Result<Session, Response>) -> Response {
    match session {
        Ok(session) => Redirect::to(&session.home()).into_response(),
        Err(_) => Redirect::to("/console/sign-in").into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// Only console paths are followed after signing in.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/console")
}

async fn sign_in_page(headers: HeaderMap, Query(query): Query<SignInQuery>) -> Response {
    let notice = query
        .signed_out
        .is_some()
        .then(|| Notice::ok("You are signed out."));
    render_sign_in(
        &headers,
        safe_next(query.next.as_deref()),
        notice,
        StatusCode::OK,
    )
}

fn render_sign_in(
    headers: &HeaderMap,
    next: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let body = html! {
        main.sign-in {
            h1 { span.brand-mark aria-hidden="true" { "◆" } " Sluice console" }
            @if let Some(notice) = &notice { (notice.render()) }
            form method="post" action="/console/sign-in" {
                input type="hidden" name=(CSRF_FIELD) value=(token);
                input type="hidden" name="next" value=(next);
                label for="token" { "Admin token or API key" }
                input #token type="password" name="token" required autocomplete="current-password"
                    autofocus aria-describedby="token-help";
                p.help #token-help {
                    "Operators sign in with the admin token (" code { "SLUICE_ADMIN_TOKEN" }
                    ", or the one printed at first start). Store admins sign in with an API key of their store."
                }
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    let mut response = (status, layout::document("Sign in", body)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, SIGN_IN_COOKIE, &token, 60 * 60),
    );
    layout::no_store(&mut response);
    response
}

/// Why a sign-in was refused, in words, with its status.
struct Refusal(StatusCode, String);

/// Checks a presented admin token or API key the way the API does
/// (`sluice_credentials`: failure budget per source, verified cache, bounded
/// hashing) and describes the session it opens.
async fn authenticate(
    state: &AppState,
    source: IpAddr,
    presented: &str,
) -> Result<ConsoleSession, Refusal> {
    let principal = match state
        .credentials
        .authenticate(&Presented::Bearer(presented.to_owned()), source)
        .await
    {
        Ok(principal) => principal,
        Err(AuthError::Invalid(_)) => {
            return Err(Refusal(
                StatusCode::UNAUTHORIZED,
                "That token or key is not valid: it is unknown, revoked or expired.".into(),
            ));
        }
        Err(AuthError::Throttled(retry)) => {
            return Err(Refusal(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-ins from your address; try again in {} s.",
                    retry.0
                ),
            ));
        }
        Err(AuthError::Busy(_)) => {
            return Err(Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is busy checking other keys; try again in a moment.".into(),
            ));
        }
        Err(AuthError::Storage(error)) => {
            let problem = sluice_api::Problem::from(error);
            return Err(Refusal(StatusCode::SERVICE_UNAVAILABLE, problem.detail));
        }
    };
    let now = state.clock.now_ms();
    let mut session = ConsoleSession {
        id_hash: String::new(),
        principal_kind: String::new(),
        principal_id: String::new(),
        principal_label: String::new(),
        store_id: None,
        scopes: Vec::new(),
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + SESSION_LIFETIME_MS,
    };
    match principal {
        Principal::Operator { token_id } => {
            session.principal_kind = "admin".into();
            session.principal_id = token_id;
            session.principal_label = "Operator".into();
        }
        Principal::Store(access) => {
            if access.via != Via::ApiKey {
                return Err(Refusal(
                    StatusCode::UNAUTHORIZED,
                    "Sign in with an API key (sk_...); OAuth clients and access tokens are for programs.".into(),
                ));
            }
            let credential = state
                .db
                .get_credential(&access.store_id, &access.credential_id)
                .await
                .map_err(|error| {
                    Refusal(
                        StatusCode::SERVICE_UNAVAILABLE,
                        sluice_api::Problem::from(error).detail,
                    )
                })?;
            session.principal_kind = "credential".into();
            session.principal_label = format!("{} (API key)", credential.name);
            session.principal_id = access.credential_id.clone();
            session.store_id = Some(access.store_id.clone());
            session.scopes = access.scopes.names();
            if let Some(at) = credential.expires_at {
                session.expires_at = session.expires_at.min(at);
            }
        }
    }
    Ok(session)
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request<Body>,
) -> Response {
    let source = sluice_api::auth::request_source(&state, &request);
    let fields = match Fields::from_request(request, &state).await {
        Ok(fields) => fields,
        Err(rejection) => return rejection,
    };
    let next = safe_next(fields.get("next")).to_owned();
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    let presented = fields.get(CSRF_FIELD).unwrap_or_default();
    if expected.is_empty() || !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return render_sign_in(
            &headers,
            &next,
            Some(Notice::error(
                "The sign-in form expired or cookies are blocked for this site; please try again.",
            )),
            StatusCode::FORBIDDEN,
        );
    }
    let token = fields.get("token").unwrap_or_default().trim();
    if token.is_empty() {
        return render_sign_in(
            &headers,
            &next,
            Some(Notice::error("Enter the admin token or an API key.")),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let mut record = match authenticate(&state, source, token).await {
        Ok(record) => record,
        Err(Refusal(status, message)) => {
            return render_sign_in(&headers, &next, Some(Notice::error(message)), status);
        }
    };
    let id = random_token();
    record.id_hash = hash(&id);
    if let Err(error) = state.db.insert_console_session(&record).await {
        return layout::problem_page(error.into());
    }
    let max_age = (record.expires_at - record.created_at) / 1000;
    let session = Session { record };
    let target = if next == "/console" {
        session.home()
    } else {
        next
    };
    let mut response = Redirect::to(&target).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, &id, max_age),
    );
    cookies.append(
        header::SET_COOKIE,
        set_cookie(&headers, SIGN_IN_COOKIE, "", 0),
    );
    response
}

async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Submitted,
) -> Response {
    if let Err(error) = state
        .db
        .delete_console_session(&form.session.record.id_hash)
        .await
    {
        return layout::problem_page(error.into());
    }
    let mut response = Redirect::to("/console/sign-in?signed_out=1").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn cookies_are_found_among_several() {
        let map = headers(&[(header::COOKIE, "a=1; sluice_console=abc; b=2")]);
        assert_eq!(cookie(&map, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&map, "missing"), None);
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        let local = set_cookie(&headers(&[(header::HOST, "127.0.0.1:7070")]), "n", "v", 60);
        assert!(!local.to_str().unwrap().contains("Secure"));
        let ipv6 = set_cookie(&headers(&[(header::HOST, "[::1]:7070")]), "n", "v", 60);
        assert!(!ipv6.to_str().unwrap().contains("Secure"));
        let remote = set_cookie(
            &headers(&[(header::HOST, "sluice.example.com")]),
            "n",
            "v",
            60,
        );
        let remote = remote.to_str().unwrap();
        assert!(remote.contains("; Secure"), "{remote}");
        assert!(remote.contains("HttpOnly") && remote.contains("SameSite=Strict"));
    }

    #[test]
    fn forms_from_another_origin_are_refused() {
        let same = headers(&[
            (header::HOST, "sluice.example.com"),
            (header::ORIGIN, "https://sluice.example.com"),
        ]);
        assert!(same_origin(&same));
        let other = headers(&[
            (header::HOST, "sluice.example.com"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(!same_origin(&other));
        assert!(same_origin(&headers(&[(header::HOST, "x")])));
    }

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/console/stores/s1/webhooks")),
            "/console/stores/s1/webhooks"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console");
        assert_eq!(safe_next(Some("//evil.example/console")), "/console");
        assert_eq!(safe_next(None), "/console");
    }
}
