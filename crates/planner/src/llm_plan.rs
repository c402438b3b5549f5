//! Planning with a model: prompts, reply parsing and the repair loop.

use octollm_llm::json_text::parse_json_reply;
use octollm_llm::{ChatMessage, ChatRequest, LlmClient, LlmError, ResponseFormat};

use crate::reply_format::reply_instruction;
use octollm_types::plan::{Plan, PlanRequest, Replan, StepReport, Usage};
use serde_json::Value;

use crate::policy::gated_sentence;
use crate::validate::{validate, Rules, ValidationIssue};
use crate::PlanError;

const SYSTEM: &str = include_str!("../prompts/system.md");
const USER: &str = include_str!("../prompts/user.md");
const REPAIR: &str = include_str!("../prompts/repair.md");
const REPLAN: &str = include_str!("../prompts/replan.md");

/// An arm the prompt describes.
pub struct ArmInfo<'a> {
    pub name: &'a str,
    pub description: &'a str,
}

pub fn system_prompt(rules: &Rules<'_>, arms: &[ArmInfo<'_>], format: &ResponseFormat) -> String {
    let arms_text = arms
        .iter()
        .map(|a| format!("- {}: {}", a.name, a.description))
        .collect::<Vec<_>>()
        .join("\n");
    let forbidden = gated_sentence();
    // Sorted, so the prompt (and the LLM's cache) does not change with the
    // order an operator listed the commands in.
    let commands = rules
        .policy
        .map(|p| {
            let mut c = p.commands.allowed().to_vec();
            c.sort();
            c.join(", ")
        })
        .unwrap_or_default();
    let hosts = match rules.policy {
        Some(p) if !p.hosts.is_empty() => p.hosts.entries().join(", "),
        _ => "none".to_string(),
    };
    SYSTEM
        .replace("%%MIN_STEPS%%", &rules.min_steps.to_string())
        .replace("%%MAX_STEPS%%", &rules.max_steps.to_string())
        .replace("%%ARMS%%", &arms_text)
        .replace("%%COMMANDS%%", &commands)
        .replace("%%FORBIDDEN%%", &forbidden)
        .replace("%%HOSTS%%", &hosts)
        .replace("%%REPLY%%", &capitalised(&reply_instruction(format)))
}

fn capitalised(sentence: &str) -> String {
    let mut c = sentence.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

fn bullet_list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items
            .iter()
            .map(|s| format!("- {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Where each attached file is inside the sandbox.
fn attached(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("{}/{n}", octollm_types::plan::INPUTS_DIR))
        .collect()
}

pub fn user_prompt(req: &PlanRequest, format: &ResponseFormat) -> String {
    let replan = req
        .replan
        .as_ref()
        .map(|r| format!("{}\n\n", replan_prompt(r)))
        .unwrap_or_default();
    USER.replace("%%REPLY%%", &capitalised(&reply_instruction(format)))
        .replace("%%CONSTRAINTS%%", &bullet_list(&req.constraints))
        .replace("%%CRITERIA%%", &bullet_list(&req.acceptance_criteria))
        .replace(
            "%%CONTEXT%%",
            &Value::Object(req.context.clone()).to_string(),
        )
        .replace("%%GOAL%%", req.goal.trim())
        .replace("%%FILES%%", &bullet_list(&attached(&req.files)))
        // Last, so text in a step's output that looks like a placeholder
        // stays inert; a goal holding this one only repeats the block.
        .replace("%%REPLAN%%", &replan)
}

/// What a revision is told: the failed plan, what finished (outputs as the
/// orchestrator screened them), what failed and the criteria's outcomes.
pub fn replan_prompt(r: &Replan) -> String {
    let completed = if r.completed.is_empty() {
        "(none)".to_string()
    } else {
        r.completed
            .iter()
            .map(step_report)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let failed = r
        .failed
        .as_ref()
        .map_or_else(|| "(none: every step finished)".to_string(), step_report);
    let criteria = if r.criteria.is_empty() {
        "(none checked)".to_string()
    } else {
        r.criteria
            .iter()
            .map(|c| {
                let verdict = match c.passed {
                    Some(true) => "met",
                    Some(false) => "NOT met",
                    None => "not checked",
                };
                format!("- {} [{verdict}, {}]: {}", c.criterion, c.method, c.reason)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Placeholders are filled in this order, the model-visible text last,
    // so text inside an output that looks like a placeholder stays inert.
    REPLAN
        .replace("%%REVISION%%", &r.revision.to_string())
        .replace(
            "%%PREVIOUS%%",
            &serde_json::to_string(&r.previous_plan).unwrap_or_default(),
        )
        .replace("%%CRITERIA%%", &criteria)
        .replace("%%FAILED%%", &failed)
        .replace("%%COMPLETED%%", &completed)
}

/// One step of a failed plan: what it ran, and its output or error fenced
/// so it reads as data.
fn step_report(s: &StepReport) -> String {
    let call = s
        .tool_call
        .as_ref()
        .map_or_else(|| "(no tool call)".to_string(), |c| c.command_line());
    let cut = if s.truncated { " (cut to fit)" } else { "" };
    format!(
        "- step {} ({}): {call}\n  output{cut}:\n~~~~\n{}\n~~~~",
        s.step,
        s.action,
        s.output.replace("~~~~", "~ ~ ~ ~")
    )
}

pub fn repair_prompt(errors: &[String], format: &ResponseFormat) -> String {
    REPAIR
        .replace("%%REPLY%%", &reply_instruction(format))
        .replace("%%ERRORS%%", &bullet_list(errors))
}

/// Removes members whose value is `null`, at every depth: strict tool
/// schemas make optional fields nullable, and a null means "not given".
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Reads a plan out of model text: strips fences, accepts `steps` for
/// `plan` or a bare array, and fills the obvious omissions.
pub fn parse_plan(text: &str) -> Result<Plan, String> {
    let mut v = parse_json_reply(text).map_err(|e| format!("the reply is not valid JSON ({e})"))?;
    drop_nulls(&mut v);
    let mut obj = match v {
        Value::Array(steps) => {
            let mut m = serde_json::Map::new();
            m.insert("plan".into(), Value::Array(steps));
            m
        }
        Value::Object(m) => m,
        _ => return Err("the reply must be a JSON object with a \"plan\" array".into()),
    };
    if !obj.contains_key("plan") {
        if let Some(steps) = obj.remove("steps") {
            obj.insert("plan".into(), steps);
        } else {
            return Err("the reply has no \"plan\" array".into());
        }
    }
    if let Some(Value::Array(steps)) = obj.get_mut("plan") {
        for step in steps.iter_mut() {
            let Value::Object(s) = step else { continue };
            if let Some(Value::Object(call)) = s.get_mut("tool_call") {
                if !call.contains_key("action_type") {
                    let kind = if call.contains_key("url") {
                        "http"
                    } else {
                        "shell"
                    };
                    call.insert("action_type".into(), Value::from(kind));
                }
            }
        }
    }
    obj.remove("usage");
    obj.remove("planner");
    serde_json::from_value(Value::Object(obj))
        .map_err(|e| format!("the reply does not match the plan format: {e}"))
}

/// How LLM planning ended without a valid plan.
#[derive(Debug)]
pub enum LlmPlanFailure {
    /// No provider answered.
    Provider(LlmError, Usage),
    /// Every round's plan was invalid.
    Invalid {
        planner: String,
        issues: Vec<ValidationIssue>,
        usage: Usage,
    },
}

impl LlmPlanFailure {
    /// The error for the caller; `builtin` says why the built-in planner
    /// did not step in.
    pub fn into_error(self, builtin: String) -> PlanError {
        match self {
            LlmPlanFailure::Provider(e, _) => PlanError::LlmUnavailable {
                reason: e.to_string(),
                builtin,
            },
            LlmPlanFailure::Invalid {
                planner,
                issues,
                usage,
            } => PlanError::Invalid {
                planner,
                issues,
                usage,
            },
        }
    }
}

/// What the loop reports besides the plan, for metrics.
#[derive(Debug, Default)]
pub struct LoopStats {
    pub repair_rounds: u32,
    pub issues: Vec<ValidationIssue>,
}

pub async fn plan_with_llm(
    client: &LlmClient,
    req: &PlanRequest,
    rules: &Rules<'_>,
    arms: &[ArmInfo<'_>],
    repair_rounds: u32,
    format: ResponseFormat,
    stats: &mut LoopStats,
) -> Result<Plan, LlmPlanFailure> {
    let mut messages = vec![
        ChatMessage::system(system_prompt(rules, arms, &format)),
        ChatMessage::user(user_prompt(req, &format)),
    ];
    let mut usage = Usage::default();
    let mut planner = "llm".to_string();
    let mut last_issues = Vec::new();
    for round in 0..=repair_rounds {
        if round > 0 {
            stats.repair_rounds += 1;
        }
        let request = ChatRequest::new(messages.clone()).json(format.clone());
        let reply = client
            .chat(&request)
            .await
            .map_err(|e| LlmPlanFailure::Provider(e, usage))?;
        usage.add(&reply.usage);
        planner = format!("{}:{}", reply.provider, reply.model);
        let errors: Vec<String> = match parse_plan(&reply.text) {
            Ok(mut plan) => {
                let issues = validate(&plan, rules);
                if issues.is_empty() {
                    plan.planner = planner;
                    plan.usage = usage;
                    return Ok(plan);
                }
                stats.issues.extend(issues.iter().cloned());
                let errs = issues.iter().map(ToString::to_string).collect();
                last_issues = issues;
                errs
            }
            Err(msg) => {
                let issue = ValidationIssue {
                    step: None,
                    rule: "reply_format",
                    message: msg,
                };
                stats.issues.push(issue.clone());
                last_issues = vec![issue.clone()];
                vec![issue.to_string()]
            }
        };
        tracing::info!(
            round,
            errors = errors.len(),
            "LLM plan rejected; asking for a repair"
        );
        let repair = repair_prompt(&errors, &format);
        match reply.tool_call {
            // A refused tool call is answered as one, so the model sees
            // which call was wrong and why.
            Some(call) => {
                let id = call.id.clone();
                messages.push(ChatMessage::assistant_tool_call(call));
                messages.push(ChatMessage::tool_error(id, repair));
            }
            None => {
                messages.push(ChatMessage::assistant(reply.text));
                messages.push(ChatMessage::user(repair));
            }
        }
    }
    Err(LlmPlanFailure::Invalid {
        planner,
        issues: last_issues,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fenced_and_loose_replies() {
        let p = parse_plan("```json\n{\"steps\": [{\"step\": 1, \"action\": \"a\", \"required_arm\": \"executor\", \"tool_call\": {\"command\": \"ls\"}}]}\n```").unwrap();
        assert_eq!(p.plan.len(), 1);
        assert!(matches!(
            p.plan[0].tool_call,
            Some(octollm_types::plan::ToolCall::Shell { .. })
        ));
        assert!(parse_plan("I cannot help").is_err());
        assert!(parse_plan("{\"rationale\": \"x\"}")
            .unwrap_err()
            .contains("no \"plan\""));
        assert!(parse_plan("{\"plan\": [{\"step\": \"one\"}]}")
            .unwrap_err()
            .contains("plan format"));
    }

    #[test]
    fn schema_is_valid_json() {
        assert!(matches!(
            crate::reply_format::response_format("json_schema"),
            Some(ResponseFormat::JsonSchema {
                schema: Value::Object(_),
                ..
            })
        ));
    }

    #[test]
    fn nulls_of_a_strict_reply_read_as_absent() {
        let p = parse_plan(
            r#"{"plan": [{"step": 1, "action": "a", "required_arm": "executor",
            "tool_call": {"action_type": "shell", "command": "ls", "args": null, "stdin": null,
                          "method": null, "url": null},
            "acceptance_criteria": null, "depends_on": [], "estimated_cost_tier": null,
            "estimated_duration_seconds": null}],
            "rationale": "r", "confidence": 0.5, "complexity_score": 0.1,
            "total_estimated_duration": null}"#,
        )
        .unwrap();
        assert_eq!(
            p.plan[0].tool_call,
            Some(octollm_types::plan::ToolCall::Shell {
                command: "ls".into(),
                args: vec![],
                stdin: None
            })
        );
    }
}
