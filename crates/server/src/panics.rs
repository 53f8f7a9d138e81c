//! A handler that panics answers 500 `{code, message}` and the daemon keeps serving; the
//! panic is logged and counted. `/metrics` shows those counts and the restarts of
//! supervised background tasks (`chainops_core::task`).

use axum::response::{IntoResponse, Response};
use chainops_core::ErrorKind;
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

static PANICS: AtomicU64 = AtomicU64::new(0);

/// The layer the router wraps every route in.
pub fn layer()
-> tower_http::catch_panic::CatchPanicLayer<fn(Box<dyn Any + Send + 'static>) -> Response> {
    tower_http::catch_panic::CatchPanicLayer::custom(answer as fn(_) -> Response)
}

/// The answer to a panicked request; the panic itself goes to the log only.
fn answer(panic: Box<dyn Any + Send + 'static>) -> Response {
    PANICS.fetch_add(1, Ordering::Relaxed);
    let what = chainops_core::task::panic_message(panic.as_ref());
    crate::error::ApiError::internal(ErrorKind::Internal, format!("handler panicked: {what}"))
        .into_response()
}

/// `chainops_http_handler_panics_total` and `chainops_task_restarts_total{task}`.
pub fn render() -> String {
    use chainops_core::exposition::family;
    let mut out = String::new();
    family(
        &mut out,
        "chainops_http_handler_panics_total",
        "counter",
        "API requests whose handler panicked (answered 500; the daemon kept serving).",
        [(vec![], PANICS.load(Ordering::Relaxed) as f64)],
    );
    let restarts = chainops_core::task::restarts();
    if !restarts.is_empty() {
        family(
            &mut out,
            "chainops_task_restarts_total",
            "counter",
            "Background tasks restarted after a panic, by task.",
            restarts
                .iter()
                .map(|(task, n)| (vec![("task", task.as_str())], *n as f64)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn boom() -> &'static str {
        panic!("handler bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
        let app = axum::Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "fine" }))
            .layer(layer());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let before = PANICS.load(Ordering::Relaxed);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        for _ in 0..3 {
            let r = http
                .get(format!("http://{addr}/boom"))
                .send()
                .await
                .expect("boom");
            assert_eq!(r.status(), 500);
            let body: serde_json::Value = r.json().await.expect("json");
            assert_eq!(body["code"], "internal");
            assert!(
                !body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("handler bug"),
                "no details leak"
            );
        }
        let ok = http
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .expect("ok");
        assert_eq!(ok.text().await.expect("text"), "fine");
        assert!(PANICS.load(Ordering::Relaxed) >= before + 3);
        assert!(render().contains("chainops_http_handler_panics_total "));
    }
}
