//! Reaching the reflex layer: the very instance `octollm up` runs, or its
//! HTTP API when the gateway runs alone.

use std::sync::Arc;
use std::time::Duration;

use octollm_reflex::Reflex;
use octollm_types::reflex::{ProcessRequest, ProcessResponse, RestoreRequest, RestoreResponse};

use crate::GatewayError;

/// Bounds one screening call, so a stuck reflex layer fails the request
/// instead of holding it open.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub enum Screener {
    Local(Arc<Reflex>),
    Http {
        client: reqwest::Client,
        base: String,
        api_key: String,
    },
}

impl Screener {
    pub fn http(base: &str, api_key: &str) -> Result<Self, GatewayError> {
        let client = reqwest::Client::builder()
            .timeout(SCREEN_TIMEOUT)
            .build()
            .map_err(|e| GatewayError::Config(format!("HTTP client: {e}")))?;
        Ok(Screener::Http {
            client,
            base: base.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        })
    }

    /// Whether screening can be reached now: always in-process, else the
    /// reflex layer's `/health` within two seconds.
    pub async fn reachable(&self) -> bool {
        match self {
            Screener::Local(_) => true,
            Screener::Http { client, base, .. } => client
                .get(format!("{base}/health"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success()),
        }
    }

    pub async fn process(&self, req: &ProcessRequest) -> Result<ProcessResponse, GatewayError> {
        match self {
            Screener::Local(r) => tokio::time::timeout(SCREEN_TIMEOUT, r.process(req))
                .await
                .map_err(|_| GatewayError::Screening("no answer in time".into()))?
                .map_err(local_error),
            Screener::Http { .. } => self.post("/api/v1/reflex/process", req).await,
        }
    }

    pub async fn restore(&self, req: &RestoreRequest) -> Result<RestoreResponse, GatewayError> {
        match self {
            Screener::Local(r) => tokio::time::timeout(SCREEN_TIMEOUT, r.restore(req))
                .await
                .map_err(|_| GatewayError::Screening("no answer in time".into()))?
                .map_err(local_error),
            Screener::Http { .. } => self.post("/api/v1/reflex/restore", req).await,
        }
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GatewayError> {
        let Screener::Http {
            client,
            base,
            api_key,
        } = self
        else {
            return Err(GatewayError::Screening("not an HTTP screener".into()));
        };
        let mut req = client
            .post(format!("{base}{path}"))
            .headers(octollm_server::trace::headers())
            .json(body);
        if !api_key.is_empty() {
            req = req.bearer_auth(api_key);
        }
        let res = req
            .send()
            .await
            .map_err(|e| GatewayError::Screening(format!("reflex at {base}: {e}")))?;
        let status = res.status();
        // The reflex layer's own limit is the client's to wait out, not a fault.
        if status.as_u16() == 429 {
            let retry_after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            return Err(GatewayError::ScreeningBusy { retry_after });
        }
        if !status.is_success() {
            let text = res.text().await.unwrap_or_default();
            return Err(GatewayError::Screening(format!(
                "reflex answered {status}: {}",
                text.chars().take(300).collect::<String>()
            )));
        }
        res.json()
            .await
            .map_err(|e| GatewayError::Screening(format!("reflex answer: {e}")))
    }
}

fn local_error(e: octollm_server::ApiError) -> GatewayError {
    match e.retry_after {
        Some(retry_after) if e.status.as_u16() == 429 => {
            GatewayError::ScreeningBusy { retry_after }
        }
        _ => GatewayError::Screening(format!("{}: {}", e.code, e.message)),
    }
}
