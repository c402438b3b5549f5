//! The executor's policy: fetched from the executor when one is configured,
//! else the configured copy.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;

use crate::policy::{Policy, PolicySource};
use crate::PlannerConfig;

#[derive(Debug, Deserialize)]
struct ExecutorCapabilities {
    allowed_commands: Vec<String>,
    #[serde(default)]
    allowed_hosts: Option<Vec<String>>,
}

pub struct PolicyProvider {
    configured: Policy,
    executor_url: String,
    api_key: String,
    refresh: Duration,
    http: reqwest::Client,
    last: Mutex<Option<(Instant, Policy)>>,
}

impl PolicyProvider {
    pub fn new(cfg: &PlannerConfig) -> Self {
        PolicyProvider {
            configured: Policy::new(
                cfg.allowed_commands.clone(),
                cfg.allowed_hosts.clone(),
                cfg.allow_plain_http,
                PolicySource::Config,
            ),
            executor_url: cfg.executor_url.trim().trim_end_matches('/').to_string(),
            api_key: cfg.executor_api_key.trim().to_string(),
            refresh: Duration::from_secs(cfg.capabilities_refresh_seconds),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            last: Mutex::new(None),
        }
    }

    pub fn executor_configured(&self) -> bool {
        !self.executor_url.is_empty()
    }

    /// The policy to validate against now. An unreachable executor falls
    /// back to the last policy it reported, then to the configured copy.
    pub async fn current(&self) -> Policy {
        if !self.executor_configured() {
            return self.configured.clone();
        }
        if let Some((at, p)) = self.last.lock().as_ref() {
            if at.elapsed() < self.refresh {
                return p.clone();
            }
        }
        match self.fetch().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "executor capabilities unavailable; using the configured allowlist");
                self.last
                    .lock()
                    .as_ref()
                    .map(|(_, p)| p.clone())
                    .unwrap_or_else(|| self.configured.clone())
            }
        }
    }

    /// Asks the executor now; also refreshes the cached policy.
    pub async fn fetch(&self) -> Result<Policy, String> {
        let url = format!("{}/api/v1/capabilities", self.executor_url);
        let mut req = self
            .http
            .get(&url)
            .headers(octollm_server::trace::headers());
        if !self.api_key.is_empty() {
            req = req.header("x-api-key", &self.api_key);
        }
        let res = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("GET {url}: status {}", res.status()));
        }
        let caps: ExecutorCapabilities = res
            .json()
            .await
            .map_err(|e| format!("GET {url}: unexpected body: {e}"))?;
        let policy = Policy::new(
            caps.allowed_commands,
            caps.allowed_hosts
                .unwrap_or_else(|| self.configured.allowed_hosts().to_vec()),
            self.configured.exec.allow_plain_http,
            PolicySource::Executor,
        );
        *self.last.lock() = Some((Instant::now(), policy.clone()));
        Ok(policy)
    }
}
