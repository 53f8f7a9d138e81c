//! Small JSON-schema builders for the route table's OpenAPI descriptions.

use serde_json::{Value, json};

pub(crate) fn none() -> Value {
    json!([])
}
pub(crate) fn no_body() -> Option<Value> {
    None
}
pub(crate) fn any() -> Value {
    json!({})
}
pub(crate) fn text() -> Value {
    json!({"type": "string"})
}
pub(crate) fn nstr() -> Value {
    json!({"type": "string", "nullable": true})
}
pub(crate) fn arr(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
pub(crate) fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}
pub(crate) fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
pub(crate) fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}
