//! `octollm up`: all five components in one process, on the embedded
//! default (SQLite, in-process cache and limits, built-in planner) unless
//! the configuration points at PostgreSQL, Redis or an LLM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use octollm_executor::Executor;
use octollm_orchestrator::ArmSet;
use octollm_planner::Planner;
use octollm_reflex::Reflex;

use crate::cmd::serve::{runtime, service_options, shutdown_signal, socket_addr, Component};
use crate::config::Config;

#[derive(Args)]
pub struct UpArgs {
    /// Where SQLite and the audit log live (default: the `data_dir` setting).
    #[arg(long)]
    data_dir: Option<String>,
    /// Address to bind (default: the `bind` setting).
    #[arg(long)]
    bind: Option<String>,
}

/// The five components running in this process.
pub struct System {
    pub urls: [(Component, String); 5],
    handle: octollm_orchestrator::Handle,
    stop: watch::Sender<bool>,
    servers: JoinSet<std::io::Result<()>>,
}

const ORDER: [Component; 5] = [
    Component::Reflex,
    Component::Executor,
    Component::Planner,
    Component::Gateway,
    Component::Orchestrator,
];

/// Starts every component. With `ephemeral` the ports are picked by the OS
/// (for `octollm run` without a running system); otherwise the configured
/// ports are used.
pub async fn start(mut config: Config, ephemeral: bool) -> Result<System> {
    let bind = config.server.bind.clone();
    let mut listeners = Vec::new();
    for c in ORDER {
        let port = if ephemeral { 0 } else { c.port(&config) };
        let addr = socket_addr(&bind, port)?;
        let l = TcpListener::bind(addr).await.with_context(|| {
            format!(
                "binding {addr} for the {} (is another octollm running?)",
                c.name()
            )
        })?;
        listeners.push((c, l));
    }
    let url_of = |c: Component, listeners: &[(Component, TcpListener)]| -> Result<String> {
        let l = listeners
            .iter()
            .find(|(k, _)| k.name() == c.name())
            .map(|(_, l)| l)
            .context("listener")?;
        let addr: SocketAddr = l.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        Ok(format!("http://{host}:{}", addr.port()))
    };
    let reflex_url = url_of(Component::Reflex, &listeners)?;
    let planner_url = url_of(Component::Planner, &listeners)?;
    let executor_url = url_of(Component::Executor, &listeners)?;
    let orchestrator_url = url_of(Component::Orchestrator, &listeners)?;
    let gateway_url = url_of(Component::Gateway, &listeners)?;
    config.gateway.reflex_url = reflex_url.clone();
    config.orchestrator.reflex_url = reflex_url.clone();
    config.orchestrator.planner_url = planner_url.clone();
    config.orchestrator.executor_url = executor_url.clone();
    config.planner.executor_url = executor_url.clone();
    // One process, one secret: capability tokens are always on here, even
    // when none is configured.
    let secret = [
        &config.orchestrator.token_secret,
        &config.executor.token_secret,
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .cloned()
    .unwrap_or_else(hex_secret);
    config.orchestrator.token_secret = secret.clone();
    config.executor.token_secret = secret;
    // With API keys on, the components' calls to each other need one too
    // (the planner reads the executor's live allowlist over HTTP). A key of
    // their own, made up here, keeps the operator's keys out of it and
    // names these calls `internal` in audit records.
    let mut internal_key = None;
    if !config.server.api_keys.trim().is_empty() {
        let internal = hex_secret();
        internal_key = Some(internal.clone());
        config.server.api_keys = format!("{},internal:{internal}", config.server.api_keys);
        for key in [
            &mut config.planner.executor_api_key,
            &mut config.orchestrator.arms_api_key,
        ] {
            if key.trim().is_empty() {
                *key = internal.clone();
            }
        }
    }
    // One instance of each component serves its port and, unless the
    // configuration asks for HTTP, is called directly by the orchestrator.
    let (stop, stop_rx) = watch::channel(false);
    let mut servers = JoinSet::new();
    let mut handle = None;
    let mut local = Local::default();
    for (c, listener) in listeners {
        let opts = service_options(&config, c.name());
        let router = match c {
            Component::Reflex => {
                let reflex = Arc::new(Reflex::new(config.reflex.clone(), &opts.metrics).await?);
                crate::cmd::serve::reload_rules_on_sighup(reflex.clone());
                local.reflex = Some(reflex.clone());
                octollm_server::finish(octollm_reflex::router(reflex), opts)
            }
            Component::Executor => {
                let executor = Arc::new(Executor::start(config.executor.clone()).await?);
                octollm_executor::sweep_workspaces(&executor);
                local.executor = Some(executor.clone());
                octollm_executor::router(executor, opts)
            }
            Component::Planner => {
                let planner = Arc::new(
                    Planner::new(config.planner.clone(), config.llm.clone(), &opts.metrics).await?,
                );
                local.planner = Some(planner.clone());
                octollm_planner::router(planner, opts)
            }
            // The gateway screens with the reflex instance above, in-process.
            Component::Gateway => {
                octollm_gateway::app(
                    config.gateway.clone(),
                    config.llm.clone(),
                    local.reflex.clone(),
                    opts,
                )
                .await?
            }
            Component::Orchestrator => {
                // MCP over streamable HTTP at /mcp, with this system's
                // planner and executor, behind the same API keys.
                let mcp = match (&local.planner, &local.executor) {
                    (Some(p), Some(e)) => {
                        let arms =
                            crate::cmd::mcp::SystemArms::in_process(&config, p.clone(), e.clone());
                        let server = crate::cmd::mcp::OctoMcp::for_system(
                            config.clone(),
                            orchestrator_url.clone(),
                            internal_key.clone(),
                            arms,
                        )?;
                        axum::Router::new()
                            .nest_service("/mcp", crate::cmd::mcp::http_service(server))
                    }
                    _ => axum::Router::new(),
                };
                let supplied = match (config.orchestrator.in_process_arms, local.take()) {
                    (true, Some((r, p, e))) => crate::arms::in_process(r, p, e),
                    _ => ArmSet::default(),
                };
                let (router, h) = octollm_orchestrator::app_with_routes(
                    config.orchestrator.clone(),
                    config.llm.clone(),
                    supplied,
                    opts,
                    mcp,
                )
                .await?;
                handle = Some(h);
                router
            }
        };
        let mut rx = stop_rx.clone();
        servers.spawn(octollm_server::serve(listener, router, async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
    }
    Ok(System {
        urls: [
            (Component::Orchestrator, orchestrator_url),
            (Component::Reflex, reflex_url),
            (Component::Planner, planner_url),
            (Component::Executor, executor_url),
            (Component::Gateway, gateway_url),
        ],
        handle: handle.context("the orchestrator did not start")?,
        stop,
        servers,
    })
}

/// The component instances built so far, for the in-process arms.
#[derive(Default)]
struct Local {
    reflex: Option<Arc<Reflex>>,
    planner: Option<Arc<Planner>>,
    executor: Option<Arc<Executor>>,
}

impl Local {
    fn take(&mut self) -> Option<(Arc<Reflex>, Arc<Planner>, Arc<Executor>)> {
        Some((
            self.reflex.take()?,
            self.planner.take()?,
            self.executor.take()?,
        ))
    }
}

fn hex_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl System {
    pub fn url(&self, c: Component) -> &str {
        self.urls
            .iter()
            .find(|(k, _)| k.name() == c.name())
            .map(|(_, u)| u.as_str())
            .unwrap_or("")
    }

    /// Stops claiming tasks, lets running steps finish within the grace
    /// period, releases leases, then closes the listeners.
    pub async fn shutdown(mut self) {
        self.handle.shutdown().await;
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.servers.join_next().await.is_some() {}
        })
        .await;
    }
}

pub fn run(mut config: Config, args: UpArgs) -> Result<ExitCode> {
    if let Some(d) = args.data_dir {
        // The gateway's audit log follows the data directory unless set apart.
        let derived = std::path::Path::new(&config.server.data_dir).join("gateway-audit.jsonl");
        if std::path::Path::new(&config.gateway.audit_log_path) == derived {
            config.gateway.audit_log_path = std::path::Path::new(&d)
                .join("gateway-audit.jsonl")
                .display()
                .to_string();
        }
        config.server.data_dir = d.clone();
        config.orchestrator.data_dir = d.clone();
        config.executor.data_dir = d;
    }
    if let Some(b) = args.bind {
        config.server.bind = b;
    }
    crate::cmd::doctor::before_up(&config)?;
    crate::logging::init(&config.server, "octollm");
    runtime()?.block_on(async move {
        let banner = banner(&config);
        let system = start(config, false).await?;
        println!("{banner}");
        for (c, url) in &system.urls {
            println!("  {:<13} {url}", c.name());
        }
        println!(
            "  {:<13} {}/ui/",
            "console",
            system.url(Component::Orchestrator)
        );
        println!(
            "\nReady. Try: octollm run \"List files in /tmp and count them\"   (Ctrl-C stops)"
        );
        shutdown_signal().await;
        println!("Shutting down: no new tasks are claimed; running steps get a grace period.");
        system.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn banner(config: &Config) -> String {
    let storage = if config.orchestrator.database_url.is_empty() {
        format!("SQLite ({})", config.orchestrator.sqlite_path().display())
    } else {
        "PostgreSQL".to_string()
    };
    let cache = if config.reflex.redis_url.is_empty() {
        "in-process"
    } else {
        "Redis"
    };
    let llm = if config.llm.is_configured() {
        format!("{} {}", config.llm.provider, config.llm.model)
    } else {
        "none (built-in planner)".to_string()
    };
    let (have, missing) = octollm_sandbox::Sandbox::probe().layers();
    let mut layers = have
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if !missing.is_empty() {
        let missing = missing
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        layers.push_str(&format!("\n                (missing: {missing})"));
    }
    format!(
        "OctoLLM {}\n  storage       {storage}\n  cache/limits  {cache}\n  llm           {llm}\n  sandbox       {layers}\n",
        octollm_types::VERSION
    )
}
