//! `octollm serve <component>`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use axum::Router;
use clap::{Args, ValueEnum};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};

use crate::config::Config;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Component {
    Orchestrator,
    Reflex,
    Planner,
    Executor,
    Gateway,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Orchestrator,
        Component::Reflex,
        Component::Planner,
        Component::Executor,
        Component::Gateway,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Orchestrator => "orchestrator",
            Component::Reflex => "reflex",
            Component::Planner => "planner",
            Component::Executor => "executor",
            Component::Gateway => "gateway",
        }
    }

    pub fn port(self, config: &Config) -> u16 {
        match self {
            Component::Orchestrator => config.server.orchestrator_port,
            Component::Reflex => config.server.reflex_port,
            Component::Planner => config.server.planner_port,
            Component::Executor => config.server.executor_port,
            Component::Gateway => config.server.gateway_port,
        }
    }

    /// Builds the component's finished router, and for the orchestrator
    /// the handle that stops its workers. `addr` is where it listens.
    pub async fn router(
        self,
        config: &Config,
        addr: SocketAddr,
    ) -> Result<(Router, Option<octollm_orchestrator::Handle>)> {
        let opts = service_options(config, self.name());
        Ok(match self {
            // MCP over streamable HTTP at /mcp, with the planner and the
            // executor the configuration names, behind the same API keys;
            // its task tools call this very orchestrator with the caller's key.
            Component::Orchestrator => {
                let arms = crate::cmd::mcp::SystemArms::over_http(config)?;
                let mcp = crate::cmd::mcp::OctoMcp::for_system(
                    config.clone(),
                    format!("http://{}", reachable(addr)),
                    None,
                    arms,
                )?;
                let (router, handle) = octollm_orchestrator::app_with_routes(
                    config.orchestrator.clone(),
                    config.llm.clone(),
                    octollm_orchestrator::ArmSet::default(),
                    opts,
                    Router::new().nest_service("/mcp", crate::cmd::mcp::http_service(mcp)),
                )
                .await?;
                (router, Some(handle))
            }
            Component::Reflex => {
                let reflex = std::sync::Arc::new(
                    octollm_reflex::Reflex::new(config.reflex.clone(), &opts.metrics).await?,
                );
                reload_rules_on_sighup(reflex.clone());
                (
                    octollm_server::finish(octollm_reflex::router(reflex), opts),
                    None,
                )
            }
            Component::Planner => (
                octollm_planner::app(config.planner.clone(), config.llm.clone(), opts).await?,
                None,
            ),
            Component::Executor => (
                octollm_executor::app(config.executor.clone(), opts).await?,
                None,
            ),
            // Alone, the gateway screens through the reflex layer's HTTP API.
            Component::Gateway => (
                octollm_gateway::app(config.gateway.clone(), config.llm.clone(), None, opts)
                    .await?,
                None,
            ),
        })
    }
}

/// Reloads the reflex layer's rules file on SIGHUP, for as long as the
/// process runs. A file that does not load leaves the rules in force.
pub fn reload_rules_on_sighup(reflex: std::sync::Arc<octollm_reflex::Reflex>) {
    if reflex.config.rules_file.trim().is_empty() {
        return;
    }
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("SIGHUP cannot be watched; the rules file is read at start only");
            return;
        };
        while hup.recv().await.is_some() {
            match reflex.reload_rules() {
                Ok(n) => tracing::info!(entries = n, "rules file reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "rules file not reloaded; the previous rules stay")
                }
            }
        }
    });
}

#[derive(Args)]
pub struct ServeArgs {
    /// Which component to run.
    component: Component,
    /// Address to bind (default: the `bind` setting).
    #[arg(long)]
    bind: Option<String>,
    /// Port to listen on (default: the component's port setting).
    #[arg(long)]
    port: Option<u16>,
}

/// Options every service gets from the `[server]` settings.
pub fn service_options(config: &Config, component: &str) -> ServiceOptions {
    ServiceOptions {
        body_limit: config.server.body_limit_bytes,
        api_keys: ApiKeys::from_csv(&config.server.api_keys),
        metrics: MetricsRegistry::new(component),
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(config: Config, args: ServeArgs) -> Result<ExitCode> {
    crate::logging::init(
        &config.server,
        &format!("octollm-{}", args.component.name()),
    );
    runtime()?.block_on(serve(config, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config, args: ServeArgs) -> Result<()> {
    let bind = args.bind.unwrap_or_else(|| config.server.bind.clone());
    let addr = socket_addr(&bind, args.port.unwrap_or(args.component.port(&config)))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr().unwrap_or(addr);
    let (router, handle) = args.component.router(&config, addr).await?;
    tracing::info!(component = args.component.name(), %addr, "listening");
    // The orchestrator stops claiming and drains its workers before the
    // listener closes, so clients see their tasks finish or be released.
    let shutdown = async move {
        shutdown_signal().await;
        if let Some(handle) = handle {
            handle.shutdown().await;
        }
    };
    octollm_server::serve(listener, router, shutdown)
        .await
        .context("serving")?;
    tracing::info!(component = args.component.name(), "stopped");
    Ok(())
}

/// Where this process reaches a listener bound to `addr`: loopback for
/// the unspecified address.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

pub fn socket_addr(bind: &str, port: u16) -> Result<SocketAddr> {
    let host = if bind.contains(':') && !bind.starts_with('[') {
        format!("[{bind}]")
    } else {
        bind.to_string()
    };
    format!("{host}:{port}")
        .parse()
        .with_context(|| format!("invalid bind address {bind}"))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
