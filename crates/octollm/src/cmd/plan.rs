//! `octollm plan "<goal>"`: plan a goal here and show the plan.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use octollm_server::MetricsRegistry;
use octollm_types::plan::PlanRequest;

use crate::config::Config;

#[derive(Args)]
pub struct PlanArgs {
    /// What to achieve, in plain words.
    goal: String,
    /// A constraint the plan must respect (repeatable).
    #[arg(long = "constraint")]
    constraints: Vec<String>,
    /// An acceptance criterion for the result (repeatable).
    #[arg(long = "criteria")]
    criteria: Vec<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(config: Config, args: PlanArgs) -> Result<ExitCode> {
    crate::cmd::serve::runtime()?.block_on(async move {
        let planner = octollm_planner::Planner::new(
            config.planner.clone(),
            config.llm.clone(),
            &MetricsRegistry::new("planner"),
        )
        .await?;
        let req = PlanRequest {
            goal: args.goal,
            constraints: args.constraints,
            acceptance_criteria: args.criteria,
            ..Default::default()
        };
        match planner.plan(&req).await {
            Ok(outcome) => {
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&outcome.plan)?);
                } else {
                    print!("{}", crate::render::plan::render_tree(&outcome.plan));
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                let api = e.to_api_error();
                if args.json {
                    let mut out = std::io::stdout().lock();
                    crate::render::task::cli_error_json(
                        &mut out,
                        &api.code,
                        &api.message,
                        &api.details,
                    );
                } else {
                    eprintln!("error: {} ({})", api.message, api.code);
                }
                Ok(ExitCode::from(1))
            }
        }
    })
}
