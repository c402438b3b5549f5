//! The executor's policy as the planner sees it: the shared contract
//! (`octollm-policy`) plus where this copy of it came from.

use std::collections::BTreeSet;

pub use octollm_policy::plan::SHELL_OPERATORS;
use octollm_policy::table::{gated, Effect};
use octollm_policy::{CommandPolicy, ExecPolicy, HostList};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Where the allowlist came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    Executor,
    Config,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub exec: ExecPolicy,
    pub source: PolicySource,
}

impl Policy {
    pub fn new<C: AsRef<str>, H: AsRef<str>>(
        commands: impl IntoIterator<Item = C>,
        hosts: impl IntoIterator<Item = H>,
        allow_plain_http: bool,
        source: PolicySource,
    ) -> Self {
        Policy {
            exec: ExecPolicy {
                commands: CommandPolicy::new(commands),
                hosts: HostList::new(hosts),
                allow_plain_http,
            },
            source,
        }
    }

    /// The allowlist as a set, for the built-in planner's lookups.
    pub fn allowed_commands(&self) -> BTreeSet<String> {
        self.exec.commands.allowed().iter().cloned().collect()
    }

    pub fn allowed_hosts(&self) -> &[String] {
        self.exec.hosts.entries()
    }

    /// Human list of the allowed commands.
    pub fn commands_csv(&self) -> String {
        self.exec.commands.allowed().join(", ")
    }
}

/// The refused and capability-gated options, one sentence each, for the
/// LLM prompt.
pub fn gated_sentence() -> String {
    gated()
        .into_iter()
        .map(|(cmd, form, effect)| match effect {
            Effect::Deny(why) => format!("{cmd} {form} (refused: {why})"),
            Effect::Requires(cap, why) => format!("{cmd} {form} ({why}; needs {cap})"),
            Effect::Allow => String::new(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The same table as JSON: `{command: [{"option", "refused"|"requires", "why"}]}`.
pub fn gated_json() -> Value {
    let mut out: Map<String, Value> = Map::new();
    for (cmd, form, effect) in gated() {
        let entry = match effect {
            Effect::Deny(why) => json!({"option": form, "effect": "refused", "why": why}),
            Effect::Requires(cap, why) => {
                json!({"option": form, "effect": "requires", "capability": cap, "why": why})
            }
            Effect::Allow => continue,
        };
        if let Value::Array(list) = out
            .entry(cmd.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(entry);
        }
    }
    Value::Object(out)
}
