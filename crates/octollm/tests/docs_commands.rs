//! The docs as a contract with the binary: every `octollm …` command shown
//! in a code block exists, every `OCTOLLM_…` variable named anywhere is a
//! row of docs/configuration.md, whose rows are exactly the settings the
//! binary knows (`octollm config --defaults`, the one source of truth for names), and
//! the book's links, the alert rules' runbooks and SUMMARY.md hold together. A failure names the file
//! and the line to fix.

// Helpers outside `#[test]` functions panic on purpose: a failure is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// Variables named in the docs that are not settings, and why.
const NOT_SETTINGS: &[(&str, &str)] = &[
    (
        "OCTOLLM_CONFIG",
        "the configuration file (`--config`), not a setting inside it",
    ),
    (
        "OCTOLLM_API_KEY",
        "the key the command line sends to an orchestrator, not a setting of a component",
    ),
    (
        "OCTOLLM_TOKEN_SECRET",
        "the conventional alias that fills both `token_secret` settings",
    ),
];

/// The test suite's own service URLs (`scripts/test`), not settings.
const TEST_PREFIX: &str = "OCTOLLM_TEST_";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Page {
    /// Path from the repository root, as a failure names it.
    name: String,
    path: PathBuf,
    text: String,
}

/// README.md, then every docs/*.md in name order.
fn pages() -> Vec<Page> {
    let root = repo();
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            Page { name, path, text }
        })
        .collect()
}

/// Every line with its 1-based number and whether it is inside a fenced
/// code block (fence lines themselves count as inside).
fn lines(text: &str) -> Vec<(usize, &str, bool)> {
    let mut fence: Option<(char, usize)> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |c| t.chars().take_while(|x| *x == c).count());
        match (fence, marker) {
            (None, Some(c)) if run >= 3 => {
                fence = Some((c, run));
                out.push((i + 1, line, true));
            }
            (Some((c, n)), Some(m))
                if m == c && run >= n && t[run * c.len_utf8()..].trim().is_empty() =>
            {
                fence = None;
                out.push((i + 1, line, true));
            }
            _ => out.push((i + 1, line, fence.is_some())),
        }
    }
    out
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("OCTOLLM_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("running octollm {args:?}: {e}"))
}

/// The subcommands a `--help` text lists under "Commands:".
fn listed_subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_documented_command_has_help() {
    // `octollm` as a word of its own (not `crates/octollm`, `./octollm-data`),
    // then the subcommand and the word after it.
    let re = Regex::new(r"(?:^|[\s;&|(])octollm\s+([a-z][a-z0-9-]*)(?:[ \t]+([a-z][a-z0-9-]*))?")
        .unwrap();
    let mut first_seen: BTreeMap<(String, Option<String>), String> = BTreeMap::new();
    for page in pages() {
        for (n, line, in_code) in lines(&page.text) {
            if !in_code {
                continue;
            }
            for cap in re.captures_iter(line) {
                let key = (
                    cap[1].to_string(),
                    cap.get(2).map(|m| m.as_str().to_string()),
                );
                first_seen
                    .entry(key)
                    .or_insert_with(|| format!("{}:{n}: {}", page.name, line.trim()));
            }
        }
    }
    assert!(
        first_seen.keys().any(|(sub, _)| sub == "run"),
        "no `octollm run` found in a code block: the scan is broken"
    );

    let mut failures = Vec::new();
    let mut helps: BTreeMap<String, Option<String>> = BTreeMap::new();
    for ((sub, next), at) in &first_seen {
        let help = helps.entry(sub.clone()).or_insert_with(|| {
            let out = run(&[sub, "--help"]);
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        });
        let Some(help) = help else {
            failures.push(format!(
                "{at}\n    `octollm {sub} --help` fails: no such subcommand"
            ));
            continue;
        };
        let subs = listed_subcommands(help);
        // Only a subcommand with subcommands of its own has a second level;
        // elsewhere the next word is an argument.
        let (true, Some(next)) = (!subs.is_empty(), next) else {
            continue;
        };
        let out = run(&[sub, next, "--help"]);
        if !out.status.success() {
            failures.push(format!(
                "{at}\n    `octollm {sub} {next} --help` fails (`octollm {sub}` has: {})",
                subs.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "commands in the docs that the binary does not have:\n{}",
        failures.join("\n")
    );
}

/// The `variable` column of every table in docs/configuration.md, with the
/// line of each row.
fn configuration_table_variables() -> BTreeMap<String, usize> {
    let path = repo().join("docs/configuration.md");
    let text = std::fs::read_to_string(&path).expect("docs/configuration.md is readable");
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut out = BTreeMap::new();
    let mut column: Option<usize> = None;
    for (n, line, in_code) in lines(&text) {
        if in_code || !line.trim_start().starts_with('|') {
            column = None;
            continue;
        }
        let row = cells(line);
        match column {
            None => column = row.iter().position(|c| c == "variable"),
            Some(i) => {
                if let Some(var) = row
                    .get(i)
                    .and_then(|c| c.strip_prefix('`'))
                    .and_then(|c| c.strip_suffix('`'))
                {
                    let previous = out.insert(var.to_string(), n);
                    assert!(
                        previous.is_none(),
                        "docs/configuration.md:{n}: {var} has a second row (first at line {})",
                        previous.unwrap_or(0)
                    );
                }
            }
        }
    }
    out
}

#[test]
fn configuration_tables_list_exactly_the_settings_of_the_binary() {
    let out = run(&["config", "--defaults"]);
    assert!(out.status.success(), "`octollm config --defaults` failed");
    let settings: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_string)
        .collect();
    assert!(settings.len() > 50, "`octollm config` listed {settings:?}");
    let table = configuration_table_variables();
    let stale: Vec<String> = table
        .iter()
        .filter(|(v, _)| !settings.contains(*v))
        .map(|(v, n)| {
            format!(
                "docs/configuration.md:{n}: {v} is not a setting of `octollm config --defaults`"
            )
        })
        .collect();
    let missing: Vec<&String> = settings
        .iter()
        .filter(|s| !table.contains_key(*s))
        .collect();
    assert!(
        stale.is_empty() && missing.is_empty(),
        "docs/configuration.md and `octollm config` disagree:\n{}\n\
         settings without a row in docs/configuration.md: {missing:?}",
        stale.join("\n")
    );
}

#[test]
fn every_documented_variable_is_in_the_configuration_tables() {
    let table = configuration_table_variables();
    let config_text =
        std::fs::read_to_string(repo().join("docs/configuration.md")).expect("configuration.md");
    for (name, why) in NOT_SETTINGS {
        assert!(
            !table.contains_key(*name),
            "{name} is listed as not a setting ({why}) but has a row in docs/configuration.md"
        );
        assert!(
            config_text.contains(name),
            "docs/configuration.md does not explain {name} ({why})"
        );
    }
    // A trailing `_*` names a family of variables (`OCTOLLM_LLM_FALLBACK_*`).
    let re = Regex::new(r"OCTOLLM_[A-Z0-9_]*[A-Z0-9](_\*)?").unwrap();
    let mut failures = Vec::new();
    for page in pages() {
        for (n, line, _) in lines(&page.text) {
            for m in re.find_iter(line) {
                let name = m.as_str();
                let known = if let Some(prefix) = name.strip_suffix('*') {
                    table.keys().any(|v| v.starts_with(prefix))
                } else {
                    table.contains_key(name)
                        || NOT_SETTINGS.iter().any(|(v, _)| *v == name)
                        || name.starts_with(TEST_PREFIX)
                };
                if !known {
                    failures.push(format!(
                        "{}:{n}: {name} is not in docs/configuration.md's tables",
                        page.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "variables named in the docs that are no setting:\n{}",
        failures.join("\n")
    );
}

/// The anchor mdBook gives a heading: lower case, letters, digits, `_` and
/// `-` kept, white space as `-`, the rest dropped; repeats get `-1`, `-2`….
fn heading_ids(text: &str) -> HashSet<String> {
    let link = Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let mut ids = HashSet::new();
    for (_, line, in_code) in lines(text) {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|c| *c == '#').count();
        if in_code || !(1..=6).contains(&hashes) || !t[hashes..].starts_with(' ') {
            continue;
        }
        let content = link.replace_all(t[hashes..].trim().trim_end_matches('#'), "$1");
        let id: String = content
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c)
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut k = 1;
        while !ids.insert(unique.clone()) {
            unique = format!("{id}-{k}");
            k += 1;
        }
    }
    ids
}

/// Targets of the inline links of a page outside code, with their lines.
fn links(text: &str) -> Vec<(usize, String)> {
    let code_span = Regex::new(r"`[^`]*`").unwrap();
    let link = Regex::new(r#"\]\(([^)\s]+)(?:\s+"[^"]*")?\)"#).unwrap();
    let mut out = Vec::new();
    for (n, line, in_code) in lines(text) {
        if in_code {
            continue;
        }
        let line = code_span.replace_all(line, "");
        for cap in link.captures_iter(&line) {
            out.push((n, cap[1].to_string()));
        }
    }
    out
}

#[test]
fn links_between_pages_resolve() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for (n, target) in links(&page.text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if file.is_empty() {
                page.path.clone()
            } else {
                page.path
                    .parent()
                    .expect("a page has a directory")
                    .join(file)
            };
            if !dest.exists() {
                failures.push(format!("{}:{n}: {target}: no such file", page.name));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if dest.extension().is_none_or(|x| x != "md") {
                continue;
            }
            let text = std::fs::read_to_string(&dest).expect("linked page is readable");
            if !heading_ids(&text).contains(anchor) {
                failures.push(format!(
                    "{}:{n}: {target}: no heading with the anchor #{anchor}",
                    page.name
                ));
            }
        }
    }
    assert!(
        checked > 10,
        "only {checked} links found: the scan is broken"
    );
    assert!(
        failures.is_empty(),
        "broken links:\n{}",
        failures.join("\n")
    );
}

#[test]
fn alert_runbooks_resolve() {
    // The alerting rules the Helm chart ships point at their runbooks in
    // the docs: `runbook: docs/FILE.md#anchor`.
    let rules_path = "deploy/helm/octollm/alerts/octollm-rules.yaml";
    let rules = std::fs::read_to_string(repo().join(rules_path)).expect("the rule file");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (n, line) in rules.lines().enumerate() {
        let Some(target) = line.trim().strip_prefix("runbook:") else {
            continue;
        };
        checked += 1;
        let target = target.trim().trim_matches('"');
        let Some((file, anchor)) = target.split_once('#') else {
            failures.push(format!("{rules_path}:{}: {target}: no anchor", n + 1));
            continue;
        };
        match std::fs::read_to_string(repo().join(file)) {
            Ok(text) if file.starts_with("docs/") && heading_ids(&text).contains(anchor) => {}
            Ok(_) => failures.push(format!(
                "{rules_path}:{}: {target}: no heading with the anchor #{anchor}",
                n + 1
            )),
            Err(e) => failures.push(format!("{rules_path}:{}: {target}: {e}", n + 1)),
        }
    }
    assert!(checked >= 5, "only {checked} runbooks found");
    assert!(
        failures.is_empty(),
        "broken runbooks:\n{}",
        failures.join("\n")
    );
}

#[test]
fn summary_lists_every_page() {
    let summary_path = repo().join("docs/SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path).expect("docs/SUMMARY.md is readable");
    let listed: BTreeSet<String> = links(&summary).into_iter().map(|(_, t)| t).collect();
    let missing: Vec<String> = pages()
        .into_iter()
        .filter(|p| p.name.starts_with("docs/") && p.name != "docs/SUMMARY.md")
        .map(|p| p.name["docs/".len()..].to_string())
        .filter(|name| !listed.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/SUMMARY.md: no entry for {missing:?}; every page of docs/ belongs in the book"
    );
}

#[test]
fn the_scanners_read_markdown_as_mdbook_does() {
    let text = "# Title\n\n```sh\n# not a heading\noctollm up\n```\n\n## `[llm]` — LLM providers\n## Title\n";
    let ids = heading_ids(text);
    for id in ["title", "llm--llm-providers", "title-1"] {
        assert!(ids.contains(id), "{id} not in {ids:?}");
    }
    assert!(!ids.contains("not-a-heading"));
    let code: Vec<usize> = lines(text)
        .into_iter()
        .filter(|(_, _, c)| *c)
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(code, vec![3, 4, 5, 6]);
    assert_eq!(
        links("see [a](b.md#c) and `[x](y.md)`\n```\n[z](w.md)\n```\n"),
        vec![(1, "b.md#c".to_string())]
    );
    let help = "Usage: x\n\nCommands:\n  list  L\n  show  S\n  help  H\n\nOptions:\n  -h\n";
    assert_eq!(
        listed_subcommands(help),
        BTreeSet::from(["list".to_string(), "show".to_string()])
    );
}
