//! `action_type: "http"`: the request side of the http action. The fetch
//! itself, with its host, scheme and address checks, is in
//! [`http_action`](crate::http_action).

use std::time::Instant;

use axum::http::StatusCode;
use octollm_types::exec::{ExecuteRequest, ExecuteResponse, ResourceUsage, SandboxInfo};
use octollm_types::token::{caps, Claims};
use serde_json::json;

use crate::executor::{ExecuteReply, Executor};
use crate::metrics::ActionLabels;
use crate::provenance::{command_hash, now, Record};

/// The guarantees every fetch runs under, as provenance lists them.
const HTTP_LAYERS: [&str; 5] = [
    "host_allowlist",
    "ssrf_guard",
    "redirect_recheck",
    "size_cap",
    "timeout",
];

impl Executor {
    pub(crate) async fn http(
        &self,
        req: ExecuteRequest,
        claims: Option<Claims>,
        rid: Option<String>,
    ) -> ExecuteReply {
        let url = req.url.clone().unwrap_or_default();
        if url.is_empty() {
            return ExecuteReply::refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_ERROR",
                "url is required for an http action",
                rid,
            );
        }
        let method = req.method.clone().unwrap_or_else(|| "GET".into());
        let hash = command_hash(&method.to_ascii_uppercase(), std::slice::from_ref(&url));
        if let Err(msg) = self.require_caps(&claims, &[caps::HTTP_GET]) {
            return ExecuteReply::refusal(StatusCode::FORBIDDEN, "CAPABILITY_MISSING", msg, rid);
        }
        let fetcher = match &self.fetcher {
            Ok(f) => f,
            Err(e) => {
                return ExecuteReply::refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "HTTP_UNAVAILABLE",
                    format!("The http action is unavailable: {e}"),
                    rid,
                )
            }
        };
        let started_at = now();
        let started = Instant::now();
        let narrowed = claims
            .as_ref()
            .and_then(|c| c.hosts.as_ref())
            .map(octollm_policy::HostList::new);
        let result = fetcher.fetch(&method, &url, narrowed.as_ref()).await;
        let elapsed = started.elapsed();
        self.metrics
            .duration
            .get_or_create(&ActionLabels {
                action: "http".into(),
            })
            .observe(elapsed.as_secs_f64());
        match result {
            Ok(r) => {
                self.metrics.http_bytes.inc_by(r.body.len() as u64);
                let ok = (200..300).contains(&r.status);
                let outcome = if ok { "success" } else { "failure" };
                self.metrics.count("http", outcome);
                let prov = Record {
                    hash,
                    started_at: &started_at,
                    duration: elapsed,
                    exit_code: None,
                    capabilities: &[caps::HTTP_GET],
                    sandbox: SandboxInfo {
                        layers: HTTP_LAYERS.map(String::from).to_vec(),
                        missing: Vec::new(),
                    },
                    usage: ResourceUsage::default(),
                }
                .provenance();
                self.audit(json!({"ts": now(), "request_id": rid, "action": "http", "method": method, "url": url, "final_url": r.final_url, "status": r.status, "outcome": outcome, "truncated": r.truncated, "provenance": prov}));
                let body = ExecuteResponse {
                    success: ok,
                    output: String::from_utf8_lossy(&r.body).into_owned(),
                    error: (!ok).then(|| format!("Remote server answered HTTP {}", r.status)),
                    error_code: (!ok).then(|| "HTTP_STATUS".to_string()),
                    truncated: r.truncated,
                    provenance: Some(prov),
                    http_status: Some(r.status),
                    request_id: rid,
                    ..Default::default()
                };
                ExecuteReply {
                    status: StatusCode::OK,
                    body,
                }
            }
            Err(denial) => {
                if denial.status() == StatusCode::FORBIDDEN {
                    self.deny(&denial.code().to_ascii_lowercase());
                }
                self.metrics.count("http", "refused");
                self.audit(json!({"ts": now(), "request_id": rid, "action": "http", "method": method, "url": url, "command_hash": hash, "outcome": "refused", "reason": denial.code(), "error": denial.to_string()}));
                ExecuteReply::refusal(denial.status(), denial.code(), denial.to_string(), rid)
            }
        }
    }
}
