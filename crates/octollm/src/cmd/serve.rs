//! `octollm serve <component>`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};

use crate::config::Config;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Component {
    Reflex,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Reflex => "reflex",
        }
    }
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

pub fn run(config: Config, args: ServeArgs) -> Result<ExitCode> {
    crate::logging::init(&config.server);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config, args: ServeArgs) -> Result<()> {
    let (default_port, router) = match args.component {
        Component::Reflex => {
            let opts = service_options(&config, "reflex");
            (
                config.server.reflex_port,
                octollm_reflex::app(config.reflex.clone(), opts).await?,
            )
        }
    };
    let bind = args.bind.unwrap_or_else(|| config.server.bind.clone());
    let addr: SocketAddr = format!("{bind}:{}", args.port.unwrap_or(default_port))
        .parse()
        .with_context(|| format!("invalid bind address {bind}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(component = args.component.name(), %addr, "listening");
    octollm_server::serve(listener, router, shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!(component = args.component.name(), "stopped");
    Ok(())
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
