//! `cargo run -p octollm-planner --example plan -- "<goal>" [--criteria C]…`:
//! plans with the built-in planner and prints the plan as JSON.

use octollm_planner::{LlmConfig, Planner, PlannerConfig};
use octollm_types::plan::PlanRequest;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut req = PlanRequest::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--criteria" => req.acceptance_criteria.extend(args.next()),
            "--constraint" => req.constraints.extend(args.next()),
            _ => req.goal = a,
        }
    }
    let reg = octollm_server::MetricsRegistry::new("planner");
    let planner = match Planner::new(PlannerConfig::default(), LlmConfig::default(), &reg).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    match planner.plan(&req).await {
        Ok(o) => match serde_json::to_string_pretty(&o.plan) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        },
        Err(e) => {
            println!("ERROR: {}", e.to_api_error().message);
            std::process::exit(1);
        }
    }
}
