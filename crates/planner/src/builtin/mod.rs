//! The built-in planner: deterministic, no model, and honest about its limits.
//!
//! A goal is split into clauses ("list files in /tmp" / "count them"); each
//! clause must match one known shape *and* every word in it must be
//! understood, otherwise the whole goal is refused with the reason. Clauses
//! without their own input read the previous clause's output through a
//! `{{step_N.output}}` stdin reference.

mod clause;
mod intents;
mod lexer;
mod vocab;

use std::collections::BTreeSet;

use octollm_types::plan::{Plan, PlanRequest, PlanStep, ToolCall, Usage};

use clause::Clause;
use intents::{Ctx, Spec, INTENTS};
use lexer::{lex, Kind, Tok};

/// Why the built-in planner refused a goal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// What the built-in planner may use.
#[derive(Debug, Clone)]
pub struct BuiltinPlanner {
    pub allowed_commands: BTreeSet<String>,
    pub max_steps: u32,
}

/// The goal with each bare mention of an attached file's name (a whole
/// word, not part of a path) turned into its path inside the sandbox:
/// "count the lines in data.txt" reads `/workspace/in/data.txt`.
fn with_attached_paths(goal: &str, files: &[String]) -> String {
    let mut out = goal.to_string();
    for name in files.iter().filter(|n| !n.is_empty()) {
        let mut from = 0;
        while let Some(at) = out[from..].find(name.as_str()).map(|i| i + from) {
            let end = at + name.len();
            let before = out[..at].chars().next_back();
            let after = out[end..].chars().next();
            let after2 = out[end..].chars().nth(1);
            let opens = before.is_none_or(|c| c.is_whitespace() || "\"'`(".contains(c));
            let closes = match after {
                None => true,
                Some('.') => after2.is_none_or(char::is_whitespace),
                Some(c) => c.is_whitespace() || "\"'`),;:?!".contains(c),
            };
            if opens && closes {
                let path = format!("{}/{name}", octollm_types::plan::INPUTS_DIR);
                out.replace_range(at..end, &path);
                from = at + path.len();
            } else {
                from = end;
            }
        }
    }
    out
}

impl BuiltinPlanner {
    pub fn plan(&self, req: &PlanRequest) -> Result<Plan, Unsupported> {
        let goal = with_attached_paths(req.goal.trim(), &req.files);
        let goal = goal.as_str();
        let toks = lex(goal);
        let specs = self.clauses(goal, &toks)?;
        let constraints = Constraints::parse(&req.constraints);
        if constraints.no_network
            && specs
                .iter()
                .any(|s| matches!(s.call, ToolCall::Http { .. }))
        {
            return Err(Unsupported(
                "the goal needs a network fetch but the constraints forbid network access".into(),
            ));
        }
        let mut steps = number(specs);
        if steps.is_empty() {
            return Err(Unsupported("the goal asks for nothing to run".into()));
        }
        // A plan over the limit would only be refused by the validator;
        // declining says why, and lets a configured LLM try the goal.
        let limit = constraints
            .max_steps
            .map_or(self.max_steps, |m| m.min(self.max_steps));
        if steps.len() > limit as usize {
            let whose = if limit < self.max_steps {
                "the constraints allow"
            } else {
                "plans may have"
            };
            let n = steps.len();
            let s = if n == 1 { "" } else { "s" };
            return Err(Unsupported(format!(
                "the goal needs {n} step{s}; {whose} at most {limit}"
            )));
        }
        attach_criteria(&mut steps, &req.acceptance_criteria);
        let n = steps.len();
        let total: u32 = steps.iter().map(|s| s.estimated_duration_seconds).sum();
        let rationale = format!(
            "Built-in planner: {} step{} of allowlisted commands{}.",
            n,
            if n == 1 { "" } else { "s" },
            if steps.iter().any(|s| !s.depends_on.is_empty()) {
                "; later steps read earlier output through stdin references"
            } else {
                ""
            }
        );
        Ok(Plan {
            plan: steps,
            rationale,
            confidence: if n <= 2 { 0.9 } else { 0.8 },
            total_estimated_duration: total,
            complexity_score: (0.1 + 0.1 * (n as f64 - 1.0)).min(1.0),
            planner: "builtin".to_string(),
            usage: Usage::default(),
        })
    }

    fn clauses(&self, goal: &str, toks: &[Tok]) -> Result<Vec<Spec>, Unsupported> {
        if toks.is_empty() {
            return Err(Unsupported("the goal is empty".into()));
        }
        // Candidate boundaries: separators, "then", and "and" outside quotes.
        let mut segments: Vec<Vec<&Tok>> = vec![Vec::new()];
        for (i, t) in toks.iter().enumerate() {
            let boundary = t.kind == Kind::Sep
                || (t.kind == Kind::Word
                    && matches!(t.lower.as_str(), "then" | "and" | "afterwards")
                    && !date_and_time(toks, i));
            if boundary {
                if segments.last().is_some_and(|s| !s.is_empty()) {
                    segments.push(Vec::new());
                }
                if t.kind == Kind::Sep {
                    continue;
                }
            }
            if let Some(s) = segments.last_mut() {
                s.push(t);
            }
        }
        segments.retain(|s| {
            !s.iter()
                .all(|t| matches!(t.lower.as_str(), "then" | "and" | "afterwards"))
        });

        // Merge a segment into the previous one unless it stands alone as an
        // action ("date and time", "lines and words" stay together).
        let mut clauses: Vec<Vec<&Tok>> = Vec::new();
        let mut has_prev = false;
        let mut out: Vec<Spec> = Vec::new();
        let mut pending: Option<Vec<&Tok>> = None;
        for seg in segments {
            match pending.take() {
                None => pending = Some(seg),
                Some(cur) => {
                    if self.parse(goal, &seg, true).is_ok() {
                        clauses.push(cur);
                        pending = Some(seg);
                    } else {
                        let mut merged = cur;
                        merged.extend(seg);
                        pending = Some(merged);
                    }
                }
            }
        }
        clauses.extend(pending);
        for cl in clauses {
            let specs = self.parse(goal, &cl, has_prev)?;
            has_prev |= !specs.is_empty();
            out.extend(specs);
        }
        Ok(out)
    }

    fn parse(&self, goal: &str, toks: &[&Tok], has_prev: bool) -> Result<Vec<Spec>, Unsupported> {
        let ctx = Ctx {
            has_prev,
            allowed: &self.allowed_commands,
        };
        let base = Clause::new(toks.to_vec(), goal);
        let mut not_understood: Option<Vec<String>> = None;
        for (intent, vocab) in INTENTS {
            let mut c = Clause::new(toks.to_vec(), goal);
            match intent(&mut c, &ctx) {
                Ok(None) => {}
                Ok(Some(specs)) => {
                    let unknown = c.unknown(vocab);
                    if unknown.is_empty() {
                        return Ok(specs);
                    }
                    if not_understood
                        .as_ref()
                        .is_none_or(|u| unknown.len() < u.len())
                    {
                        not_understood = Some(unknown);
                    }
                }
                Err(reason) => return Err(Unsupported(reason)),
            }
        }
        let text = base.span(0, base.len().saturating_sub(1));
        Err(Unsupported(match not_understood {
            Some(words) => format!(
                "the built-in planner does not understand '{}' in \"{text}\"",
                words.join(" ")
            ),
            None => {
                // The words no shape's vocabulary has: what a rephrasing
                // would have to do without.
                let quoted: Vec<&str> = base.quoted().iter().map(|&q| base.text(q)).collect();
                let strange: Vec<String> = INTENTS
                    .iter()
                    .fold(base.unknown(&[]), |left, (_, v)| {
                        let known_here = base.unknown(v);
                        left.into_iter()
                            .filter(|w| known_here.contains(w))
                            .collect()
                    })
                    .into_iter()
                    // Values (quoted text, numbers, paths) are what a goal
                    // is about, not words a rephrasing could avoid.
                    .filter(|w| !quoted.contains(&w.as_str()))
                    .filter(|w| w.parse::<f64>().is_err() && !w.contains('/'))
                    .collect();
                if strange.is_empty() {
                    format!("the built-in planner does not know how to do \"{text}\"")
                } else {
                    format!(
                        "the built-in planner does not know how to do \"{text}\": none of the \
                         goals it plans uses '{}' (docs/planner.md lists them)",
                        strange.join("', '")
                    )
                }
            }
        }))
    }
}

/// "The date and time in Tokyo" is one request: split, the date would be
/// the local one and only the time Tokyo's.
fn date_and_time(toks: &[Tok], i: usize) -> bool {
    let word = |k: Option<usize>| {
        k.and_then(|k| toks.get(k))
            .is_some_and(|t| t.kind == Kind::Word && matches!(t.lower.as_str(), "date" | "time"))
    };
    toks[i].lower == "and" && word(i.checked_sub(1)) && word(Some(i + 1))
}

/// Constraints the built-in planner can honour.
#[derive(Debug, Default)]
struct Constraints {
    max_steps: Option<u32>,
    no_network: bool,
}

impl Constraints {
    fn parse(list: &[String]) -> Self {
        let mut c = Constraints::default();
        for raw in list {
            let l = raw.to_lowercase();
            let words: Vec<&str> = l
                .split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            for (i, w) in words.iter().enumerate() {
                if matches!(*w, "steps" | "step") && i > 0 {
                    if let Some(n) = clause::number(words[i - 1]) {
                        let bounded = words[..i - 1].iter().rev().take(3).any(|b| {
                            matches!(
                                *b,
                                "most" | "max" | "maximum" | "than" | "within" | "exceed" | "up"
                            )
                        });
                        if bounded {
                            c.max_steps = Some(n);
                        }
                    }
                }
            }
            if (l.contains("no ")
                || l.contains("without")
                || l.contains("offline")
                || l.contains("don't")
                || l.contains("do not"))
                && (l.contains("network")
                    || l.contains("internet")
                    || l.contains("http")
                    || l.contains("offline"))
                || l.trim() == "offline"
            {
                c.no_network = true;
            }
        }
        c
    }
}

fn number(specs: Vec<Spec>) -> Vec<PlanStep> {
    let mut steps = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let mut call = spec.call;
        let mut depends_on = Vec::new();
        if spec.piped && n > 1 {
            depends_on.push(n - 1);
            if let ToolCall::Shell { stdin, .. } = &mut call {
                *stdin = Some(format!("{{{{step_{}.output}}}}", n - 1));
            }
        }
        steps.push(PlanStep {
            step: n,
            action: spec.action,
            required_arm: "executor".to_string(),
            tool_call: Some(call),
            acceptance_criteria: spec.criteria,
            depends_on,
            estimated_cost_tier: 1,
            estimated_duration_seconds: spec.duration,
        });
    }
    steps
}

/// Records the task's criteria on the step whose output they judge. They
/// are checked by the orchestrator, against that output: a plan step that
/// failed on a criterion would report a failed command, not an unmet
/// criterion.
fn attach_criteria(steps: &mut [PlanStep], criteria: &[String]) {
    if let Some(last) = steps.last_mut() {
        last.acceptance_criteria
            .extend(criteria.iter().filter(|c| !c.trim().is_empty()).cloned());
    }
}

#[cfg(test)]
mod attached_tests {
    use super::with_attached_paths;

    #[test]
    fn bare_names_of_attached_files_become_their_paths() {
        let files = vec!["data.txt".to_string(), "a.csv".to_string()];
        for (goal, want) in [
            (
                "Count the lines in data.txt",
                "Count the lines in /workspace/in/data.txt",
            ),
            (
                "Count the lines in data.txt.",
                "Count the lines in /workspace/in/data.txt.",
            ),
            (
                "Show 'a.csv' and data.txt",
                "Show '/workspace/in/a.csv' and /workspace/in/data.txt",
            ),
            (
                "Count the lines in /tmp/data.txt",
                "Count the lines in /tmp/data.txt",
            ),
            (
                "Count the lines in mydata.txt",
                "Count the lines in mydata.txt",
            ),
            (
                "Count the lines in data.txt.bak",
                "Count the lines in data.txt.bak",
            ),
        ] {
            assert_eq!(with_attached_paths(goal, &files), want, "{goal}");
        }
    }
}
