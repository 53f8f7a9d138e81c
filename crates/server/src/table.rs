//! The whole route table: the API's routes ([`crate::api::ROUTES`]) and the console's
//! ([`crate::console::PAGES`]). The router, the guard and `docs/security.md` use this; the
//! OpenAPI document only the API's part.

use crate::api::{ROUTES, Route};

/// Every route: the API's, then the console's.
pub fn all() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().chain(crate::console::routes())
}

/// The route `method path` (a matched path pattern).
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    all().find(|r| r.method == method && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::all;

    #[test]
    fn every_method_and_path_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for r in all() {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            assert!(
                ["GET", "POST", "DELETE"].contains(&r.method),
                "{}",
                r.method
            );
        }
    }
}
