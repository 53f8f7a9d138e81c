//! Typed request extractors with one rejection, and the OpenAPI pieces derived from the same
//! types. A handler takes [`ApiQuery<T>`] / [`ApiJson<T>`]; a query string or body that does
//! not fit `T` (unknown field, missing field, wrong type, not JSON) answers 400
//! `{code: "invalid_input", message}` naming the field. The route table describes the route
//! with [`query_params::<T>`] and [`body_schema::<T>`], so the document cannot drift from
//! what the handler accepts.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A query string deserialized into `T` (`#[serde(deny_unknown_fields)]` types refuse
/// parameters they do not know).
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| ApiError::invalid(format!("query: {e}")))
    }
}

/// A JSON body deserialized into `T`. The content type is not checked: `curl -d` sends
/// `application/x-www-form-urlencoded` and operators use it.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        // A body over the limit keeps its 413 (made JSON by `error::json_errors`).
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body: empty; send a JSON object").into_response());
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::invalid(format!("body: {e}")).into_response())
    }
}

/// The OpenAPI 3.0 schema of `T`, subschemas inlined.
pub(crate) fn schema_of<T: JsonSchema>() -> Value {
    let mut v = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Value::Object(o) = &mut v {
        o.remove("title");
    }
    v
}

/// The request body schema of `T`, for a route's `body`.
pub(crate) fn body_schema<T: JsonSchema>() -> Option<Value> {
    Some(schema_of::<T>())
}

/// OpenAPI query parameters for the fields of `T`, with their doc comments as descriptions.
pub(crate) fn query_params<T: JsonSchema>() -> Value {
    let schema = schema_of::<T>();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema["properties"].as_object() else {
        return json!([]);
    };
    let params: Vec<Value> = props
        .iter()
        .map(|(name, prop)| {
            let mut prop = prop.clone();
            let description = prop
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or_else(|| Value::String(String::new()));
            if let Value::Object(o) = &mut prop {
                // Query values are single strings or numbers; `nullable` says nothing here.
                o.remove("nullable");
            }
            json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "description": description,
                "schema": prop,
            })
        })
        .collect();
    Value::Array(params)
}

/// A page of a list: `?limit=` (1 to the endpoint's maximum) and `?offset=` (default 0).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    /// At most this many items.
    pub(crate) limit: usize,
    /// Items skipped first.
    pub(crate) offset: usize,
}

impl Page {
    /// Parses `limit`/`offset` as written in the query string.
    pub(crate) fn parse(
        limit_text: Option<&str>,
        offset_text: Option<&str>,
        default: usize,
        max: usize,
    ) -> Result<Page, ApiError> {
        let limit = limit(limit_text, default as i64, max as i64)? as usize;
        let offset = match offset_text {
            None => 0,
            Some(o) => o.parse::<usize>().map_err(|_| {
                ApiError::invalid(format!("offset \"{o}\" must be a number of 0 or more"))
            })?,
        };
        Ok(Page { limit, offset })
    }

    /// The page of `items` as a JSON array, with the number of items before paging in the
    /// `X-Total-Count` header (a client pages on until `offset + len` reaches it).
    pub(crate) fn answer<T>(
        self,
        items: impl IntoIterator<Item = T>,
        json: impl Fn(T) -> Value,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let mut total = 0usize;
        let page: Vec<Value> = items
            .into_iter()
            .inspect(|_| total += 1)
            .enumerate()
            .filter(|(i, _)| *i >= self.offset && *i - self.offset < self.limit)
            .map(|(_, item)| json(item))
            .collect();
        (
            [(TOTAL_COUNT, total.to_string())],
            axum::Json(Value::Array(page)),
        )
            .into_response()
    }
}

/// Response header of a paged list: how many items there are in all.
pub(crate) const TOTAL_COUNT: &str = "x-total-count";

/// Declares a list endpoint's query struct: the given fields plus `limit` and `offset`
/// (documented in the OpenAPI document like any field), and `page(default, max)`.
macro_rules! list_query {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $($(#[$fm])* $f: $t,)*
            /// At most this many items (the endpoint's default and maximum apply).
            #[schemars(with = "Option<u32>")]
            limit: Option<String>,
            /// Skip this many items first (default 0); `X-Total-Count` has the total.
            #[schemars(with = "Option<u32>")]
            offset: Option<String>,
        }

        impl $name {
            /// The page asked for.
            pub(crate) fn page(&self, default: usize, max: usize) -> Result<crate::extract::Page, crate::error::ApiError> {
                crate::extract::Page::parse(self.limit.as_deref(), self.offset.as_deref(), default, max)
            }
        }
    };
}
pub(crate) use list_query;

list_query! {
    /// Parameters of a list endpoint that takes nothing but a page.
    PageQuery {}
}

/// A `limit` parameter: `default` when absent, else a number in `1..=max`.
pub(crate) fn limit(value: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    match value {
        None => Ok(default),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!("limit \"{l}\" must be a number from 1 to {max}"))
            }),
    }
}

/// Required text that must not be blank; `hint` says what to put there.
pub(crate) fn non_blank<'a>(value: &'a str, field: &str, hint: &str) -> Result<&'a str, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(format!("{field} is required: {hint}")));
    }
    Ok(v)
}

/// Characters refused in names and matchers: controls, and the bidi overrides and isolates
/// that make text display as something else (U+202A–U+202E, U+2066–U+2069).
fn deceptive(c: char) -> bool {
    c.is_control()
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `value` of `field` checked: at most `max` characters, no control or bidi-override
/// character (line breaks and tabs allowed when `breaks`).
fn bounded<'a>(value: &'a str, field: &str, max: usize, breaks: bool) -> Result<&'a str, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    let allowed = |c: char| breaks && matches!(c, '\n' | '\t');
    if let Some(c) = value.chars().find(|c| deceptive(*c) && !allowed(*c)) {
        return Err(ApiError::invalid(format!(
            "{field} contains U+{:04X}, a control or bidi-override character; remove it",
            c as u32
        )));
    }
    Ok(value)
}

/// A label or name: at most `max` characters, no control or bidi-override characters.
pub(crate) fn bounded_name<'a>(
    value: &'a str,
    field: &str,
    max: usize,
) -> Result<&'a str, ApiError> {
    bounded(value, field, max, false)
}

/// Free text (comments): at most `max` characters; line breaks and tabs allowed.
pub(crate) fn bounded_text<'a>(
    value: &'a str,
    field: &str,
    max: usize,
) -> Result<&'a str, ApiError> {
    bounded(value, field, max, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query type as handlers declare them.
    #[derive(serde::Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        /// The node.
        node: String,
        /// At most this many.
        #[schemars(with = "Option<u32>")]
        limit: Option<String>,
    }

    #[test]
    fn params_come_from_the_type_with_descriptions_and_required() {
        let p = query_params::<Q>();
        let by = |n: &str| {
            p.as_array()
                .and_then(|a| a.iter().find(|x| x["name"] == n))
                .cloned()
        };
        let node = by("node").expect("node");
        assert_eq!(node["required"], true);
        assert_eq!(node["description"], "The node.");
        assert_eq!(node["schema"]["type"], "string");
        let limit = by("limit").expect("limit");
        assert_eq!(limit["required"], false);
        assert_eq!(limit["schema"]["type"], "integer");
    }

    #[test]
    fn bad_queries_are_refused_naming_the_field() {
        let e = serde_urlencoded::from_str::<Q>("node=a&lmit=3")
            .err()
            .expect("unknown");
        assert!(e.to_string().contains("lmit"), "{e}");
        let e = serde_urlencoded::from_str::<Q>("limit=3")
            .err()
            .expect("missing");
        assert!(e.to_string().contains("node"), "{e}");
        assert!(limit(Some("0"), 5, 10).is_err() && limit(Some("x"), 5, 10).is_err());
        assert_eq!(limit(None, 5, 10).ok(), Some(5));
        assert!(non_blank("  ", "comment", "say why").is_err());
        assert!(bounded_name("node\u{202e}", "matchers key", 64).is_err());
        assert!(bounded_name("a\0b", "matchers key", 64).is_err());
        assert!(bounded_name(&"x".repeat(65), "matchers key", 64).is_err());
        assert!(bounded_text("line one\nline two", "comment", 100).is_ok());
        assert!(bounded_name("节点-1", "matchers value", 64).is_ok());
    }
}
