//! The alerting guide served by the daemon at `/docs/alerting`, so the runbook links in
//! notifications and exported rules (`{external_url}/docs/alerting#headstalled`) open on the
//! operator's own chainops. `docs/alerting.md` is compiled in and rendered once with
//! pulldown-cmark; it is our own text, so its HTML (the rules' anchors) is kept.

use super::{Ctx, Page, page, render};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chainops_auth::Permission;
use std::sync::LazyLock;

/// The path the default rules' runbook links point at.
pub const ALERTING_PATH: &str = chainops_alert::rules::GUIDE_PATH;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[page(
        "GET",
        ALERTING_PATH,
        Permission::ReadAlerts,
        None,
        "Console: the alerting guide (rules, runbooks, silences), the target of runbook links",
        || get(alerting_page),
    )],
    nav: None,
};

static ALERTING_HTML: LazyLock<String> = LazyLock::new(|| {
    let md = include_str!("../../../../docs/alerting.md");
    let mut opts = pulldown_cmark::Options::empty();
    opts.insert(pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(md, opts));
    html
});

/// The page.
#[derive(Template)]
#[template(path = "docs.html")]
pub struct DocsPage {
    /// Context.
    pub c: Ctx,
    /// The guide as HTML.
    pub html: &'static str,
}

async fn alerting_page(c: Ctx) -> Response {
    render(
        StatusCode::OK,
        DocsPage {
            c,
            html: ALERTING_HTML.as_str(),
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_default_rule_has_its_anchor_in_the_guide() {
        for (name, ..) in chainops_alert::rules::DEFAULT_PACK {
            let anchor = format!("id=\"{}\"", name.to_ascii_lowercase());
            assert!(
                super::ALERTING_HTML.contains(&anchor),
                "docs/alerting.md has no anchor for {name}"
            );
        }
    }
}
