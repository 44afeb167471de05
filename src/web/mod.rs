//! The daemon's web side (SPEC §11.4, §12) as an axum [`Router`]:
//! `/healthz`, `/metrics`, `/` (dashboard), `/report?from&to`,
//! `/report.json?from&to` (exactly the CLI's JSON), `/cases/CASE`.
//!
//! The worker owns the store; pages read it through their own read-only
//! SQLite connection (WAL: readers never wait for the writer), opened per
//! request on a blocking thread so a large report never stalls the async
//! runtime. `/healthz` and `/metrics` read the snapshot the worker publishes.
//! With `http.token_file`, every request needs the token (`Authorization:
//! Bearer …` or `?token=`), else 401.

pub mod charts;
pub mod dashboard;
pub mod pages;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::report::{self, load, Period};
use crate::rules::calendar::Calendar;
use crate::store::Store;

/// `/healthz`'s answer: status and a body of reason words.
pub type HealthFn = Arc<dyn Fn() -> (u16, String) + Send + Sync>;
/// `/metrics`'s body.
pub type MetricsFn = Arc<dyn Fn() -> String + Send + Sync>;

/// What the handlers need.
#[derive(Clone)]
pub struct Web {
    pub database: PathBuf,
    pub cal: Arc<Calendar>,
    pub defaults: load::Defaults,
    pub org: String,
    pub token: Option<Arc<String>>,
    pub health: HealthFn,
    pub metrics: MetricsFn,
}

/// The router with every route and the token check.
pub fn router(web: Web) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/", get(dashboard))
        .route("/report", get(report_html))
        .route("/report.json", get(report_json))
        .route("/cases/{id}", get(case_page))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(web.clone(), auth))
        .with_state(web)
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn html(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Constant-time comparison of two tokens.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_token(q: Option<&str>) -> Option<String> {
    q?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "token").then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn auth(State(web): State<Web>, req: Request, next: Next) -> Response {
    let Some(token) = &web.token else {
        return next.run(req).await;
    };
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    let given = bearer.or_else(|| query_token(req.uri().query()));
    if given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
        return next.run(req).await;
    }
    let mut r = text(
        StatusCode::UNAUTHORIZED,
        "401: a token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)\n",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"replygate\""),
    );
    r
}

async fn healthz(State(web): State<Web>) -> Response {
    let (code, body) = (web.health)();
    text(
        StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        &body,
    )
}

async fn metrics(State(web): State<Web>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::daemon::metrics::CONTENT_TYPE)],
        (web.metrics)(),
    )
        .into_response()
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "404: nav tādas lapas (not found): try /, /report, /healthz or /metrics\n",
    )
}

/// Work on the store off the async runtime; errors become a 500 without
/// internal detail (logged instead).
async fn blocking<T: Send + 'static>(
    web: &Web,
    f: impl FnOnce(&Store, &Calendar) -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    let db = web.database.clone();
    let cal = web.cal.clone();
    let r = tokio::task::spawn_blocking(move || {
        let store = Store::open_read_only(&db).map_err(|e| e.to_string())?;
        f(&store, &cal)
    })
    .await;
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "dashboard request failed");
            Err(text(
                StatusCode::SERVICE_UNAVAILABLE,
                "503: the store cannot be read now\n",
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "dashboard request panicked");
            Err(text(StatusCode::INTERNAL_SERVER_ERROR, "500\n"))
        }
    }
}

/// `?from=D&to=D`, or the reason it is refused (a 400).
fn period(q: &HashMap<String, String>) -> Result<(NaiveDate, NaiveDate), String> {
    let date = |k: &str| {
        q.get(k)
            .and_then(|v| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok())
            .ok_or_else(|| {
                format!("400: ?{k}=YYYY-MM-DD is required (e.g. /report?from=2026-11-01&to=2026-11-30)\n")
            })
    };
    let (from, to) = (date("from")?, date("to")?);
    crate::cli::reports::check_period(from, to).map_err(|e| format!("400: {e}\n"))?;
    Ok((from, to))
}

/// The instant a page is made as of: `?now=RFC3339` (as `report --now`, so
/// any moment can be looked at and tested), else the clock. A `now` that is
/// not RFC 3339 is a 400.
struct AsOf(DateTime<Utc>);

impl<S: Send + Sync> FromRequestParts<S> for AsOf {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let bad = || {
            text(
                StatusCode::BAD_REQUEST,
                "400: ?now= must be RFC 3339 (e.g. 2026-11-30T10:00:00Z)\n",
            )
        };
        let Query(q) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map_err(|_| bad())?;
        match q.get("now") {
            None => Ok(AsOf(Utc::now())),
            Some(v) => DateTime::parse_from_rfc3339(v.trim())
                .map(|t| AsOf(t.with_timezone(&Utc)))
                .map_err(|_| bad()),
        }
    }
}

fn frame(web: &Web, q: &HashMap<String, String>, now: DateTime<Utc>) -> pages::Frame {
    pages::Frame {
        org: web.org.clone(),
        tz: web.cal.tz().name().to_string(),
        as_of: report::local_rfc3339(&web.cal, now),
        token: q.get("token").cloned(),
        now: q.get("now").cloned(),
    }
}

async fn report_json(
    State(web): State<Web>,
    AsOf(now): AsOf,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (from, to) = match period(&q) {
        Ok(p) => p,
        Err(e) => return text(StatusCode::BAD_REQUEST, &e),
    };
    let d = web.defaults;
    let r = blocking(&web, move |store, cal| {
        load::report(store.conn(), cal, d, Period { from, to, as_of: now }).map_err(|e| e.to_string())
    })
    .await;
    match r {
        Ok(r) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            serde_json::to_string(&r).unwrap_or_default(),
        )
            .into_response(),
        Err(resp) => resp,
    }
}

async fn report_html(
    State(web): State<Web>,
    AsOf(now): AsOf,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let today = web.cal.local_date(now);
    let (from, to) = if q.contains_key("from") || q.contains_key("to") {
        match period(&q) {
            Ok(p) => p,
            Err(e) => return text(StatusCode::BAD_REQUEST, &e),
        }
    } else {
        (today.with_day(1).unwrap_or(today), today)
    };
    let d = web.defaults;
    let f = frame(&web, &q, now);
    let r = blocking(&web, move |store, cal| {
        let r =
            load::report(store.conn(), cal, d, Period { from, to, as_of: now }).map_err(|e| e.to_string())?;
        pages::report(&f, &r, cal).map_err(|e| e.to_string())
    })
    .await;
    match r {
        Ok(body) => html(body),
        Err(resp) => resp,
    }
}

async fn case_page(
    State(web): State<Web>,
    AsOf(now): AsOf,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = frame(&web, &q, now);
    let r = blocking(&web, move |store, cal| {
        match crate::cli::reports::timeline(store, cal, &id).map_err(|e| e.to_string())? {
            Some(tl) => pages::case(&f, &tl).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    })
    .await;
    match r {
        Ok(Some(body)) => html(body),
        Ok(None) => text(StatusCode::NOT_FOUND, "404: nav tāda gadījuma (no such case)\n"),
        Err(resp) => resp,
    }
}

async fn dashboard(
    State(web): State<Web>,
    AsOf(now): AsOf,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let d = web.defaults;
    let f = frame(&web, &q, now);
    let r = blocking(&web, move |store, cal| {
        let cases = load::cases(store.conn(), cal, d).map_err(|e| e.to_string())?;
        let sigs = load::signatures(store.conn()).map_err(|e| e.to_string())?;
        dashboard::page(&f, cal, &cases, &sigs, now).map_err(|e| e.to_string())
    })
    .await;
    match r {
        Ok(body) => html(body),
        Err(resp) => resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_the_query() {
        assert_eq!(query_token(Some("from=x&token=a%2Bb")), Some("a+b".into()));
        assert_eq!(query_token(Some("token=a+b")), Some("a b".into()));
        assert_eq!(query_token(Some("from=x")), None);
        assert_eq!(query_token(None), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
