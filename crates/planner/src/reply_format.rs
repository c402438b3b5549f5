//! How the model is asked for its plan: as a call of the `submit_plan`
//! tool (the default), in JSON mode, or as plain text. The plan's schema is
//! one file; the strict form tool calling needs is derived from it.

use octollm_llm::{ResponseFormat, ToolSpec};
use serde_json::{json, Map, Value};

const SCHEMA: &str = include_str!("../prompts/plan.schema.json");

/// The tool the model submits its plan with.
pub const TOOL_NAME: &str = "submit_plan";

/// The names `llm_response_format` accepts.
pub const NAMES: &[&str] = &["tool", "json_object", "json_schema", "text"];

/// The format named by `llm_response_format`; `None` for an unknown name.
pub fn response_format(name: &str) -> Option<ResponseFormat> {
    let schema = || serde_json::from_str::<Value>(SCHEMA).unwrap_or(Value::Null);
    Some(match name.trim() {
        "tool" => ResponseFormat::Tool(ToolSpec {
            name: TOOL_NAME.to_string(),
            description: "Submit the plan for the goal: its steps, each step's tool call and \
                          the steps it depends on."
                .to_string(),
            schema: strict(&schema()),
            strict: true,
        }),
        "json_schema" => ResponseFormat::JsonSchema {
            name: "plan".to_string(),
            schema: schema(),
            strict: false,
        },
        "json_object" => ResponseFormat::JsonObject,
        "text" => ResponseFormat::Text,
        _ => return None,
    })
}

/// The sentence the prompts use to say how to answer (`%%REPLY%%`).
pub fn reply_instruction(format: &ResponseFormat) -> String {
    match format {
        // A provider without tools is asked the same conversation in JSON
        // mode (see `ChatRequest::without_tools`), so the sentence covers it.
        ResponseFormat::Tool(t) => format!(
            "submit the complete plan by calling the `{}` tool, whose arguments are the plan \
             object (where no tool is offered, reply with that object alone, as JSON)",
            t.name
        ),
        _ => "reply with the complete plan as a single JSON object (no prose, no code fences)"
            .to_string(),
    }
}

/// The schema in the form strict structured outputs require: every object
/// closed (`additionalProperties: false`) and listing all its properties as
/// required, the ones that were optional made nullable instead. The plan
/// reader drops the nulls again, so both forms read the same.
pub fn strict(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let mut out = obj.clone();
    if let Some(Value::Object(props)) = obj.get("properties") {
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut strict_props = Map::new();
        for (name, prop) in props {
            let p = strict(prop);
            let p = if required.contains(&name.as_str()) {
                p
            } else {
                nullable(p)
            };
            strict_props.insert(name.clone(), p);
        }
        out.insert(
            "required".into(),
            Value::Array(props.keys().map(|k| Value::from(k.as_str())).collect()),
        );
        out.insert("properties".into(), Value::Object(strict_props));
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(items) = obj.get("items") {
        out.insert("items".into(), strict(items));
    }
    Value::Object(out)
}

/// `schema`, also accepting `null`.
fn nullable(mut schema: Value) -> Value {
    if let Some(Value::Array(options)) = schema.get_mut("enum") {
        options.push(Value::Null);
        return schema;
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema["type"] = json!([t, "null"]);
            schema
        }
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks every object schema and checks strict mode's two rules.
    fn assert_strict(v: &Value, path: &str) {
        if let Some(Value::Object(props)) = v.get("properties") {
            assert_eq!(v["additionalProperties"], false, "{path} is open");
            let required: Vec<&str> = v["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            for (k, p) in props {
                assert!(required.contains(&k.as_str()), "{path}.{k} not required");
                assert_strict(p, &format!("{path}.{k}"));
            }
        }
        if let Some(items) = v.get("items") {
            assert_strict(items, &format!("{path}[]"));
        }
        if let Some(Value::Array(any)) = v.get("anyOf") {
            any.iter().for_each(|a| assert_strict(a, path));
        }
    }

    #[test]
    fn the_tool_schema_is_strict_and_optional_fields_are_nullable() {
        let Some(ResponseFormat::Tool(tool)) = response_format("tool") else {
            panic!("no tool format");
        };
        assert!(tool.strict);
        assert_strict(&tool.schema, "plan");
        let step = &tool.schema["properties"]["plan"]["items"];
        // Required before: stays non-null. Optional before: nullable now.
        assert_eq!(step["properties"]["step"]["type"], "integer");
        assert_eq!(
            step["properties"]["estimated_cost_tier"]["type"],
            json!(["integer", "null"])
        );
        let call = &step["properties"]["tool_call"];
        assert_eq!(call["type"], json!(["object", "null"]));
        assert_eq!(call["properties"]["url"]["type"], json!(["string", "null"]));
        // Required inside the call: an enum that stays without null.
        assert!(!call["properties"]["action_type"]["enum"]
            .as_array()
            .unwrap()
            .contains(&Value::Null));
    }

    #[test]
    fn every_name_has_a_format_and_others_none() {
        for n in NAMES {
            assert!(response_format(n).is_some(), "{n}");
        }
        assert!(response_format("yaml").is_none());
    }
}
