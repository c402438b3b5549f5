//! One request through the gateway: admit the key, screen, forward,
//! screen the answer, charge, record. Provider-neutral; the wire formats
//! live in `openai` and `anthropic`.

use std::sync::Arc;
use std::time::Instant;

use octollm_llm::{ChatMessage, ChatRequest, LlmClient, LlmError, Role};

use crate::config::ResponseRedaction;
use crate::keys::Keys;
use crate::metrics::{GatewayMetrics, KeyModel, RequestLabels, TokenLabels};
use crate::screen::Screener;
use crate::screening::{screen_input, screen_output, Turn};
use crate::{GatewayConfig, GatewayError};
use octollm_server::AuditLog;

/// A request in provider-neutral form.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The model the client asked for, echoed back and used as a label.
    pub model: String,
    pub turns: Vec<Turn>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
}

/// The answer as the client may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    /// The model the provider says answered.
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

pub struct Gateway {
    audit: Option<AuditLog>,
    screener: Screener,
    llm: Arc<LlmClient>,
    keys: Keys,
    redaction: ResponseRedaction,
    models: Vec<String>,
    metrics: GatewayMetrics,
}

impl Gateway {
    pub fn new(
        config: &GatewayConfig,
        screener: Screener,
        llm: Arc<LlmClient>,
        registry: &octollm_server::MetricsRegistry,
    ) -> Result<Self, GatewayError> {
        let mut models: Vec<String> = llm.providers().into_iter().map(|p| p.model).collect();
        for m in &config.models {
            let m = m.trim();
            if !m.is_empty() && !models.iter().any(|x| x == m) {
                models.push(m.to_string());
            }
        }
        let audit =
            match config.audit_log_path.trim() {
                "" => None,
                path => Some(AuditLog::open(std::path::Path::new(path)).map_err(|e| {
                    GatewayError::Config(format!("opening the audit log {path}: {e}"))
                })?),
            };
        Ok(Gateway {
            audit,
            screener,
            llm,
            keys: Keys::from_config(config)?,
            redaction: ResponseRedaction::parse(&config.response_redaction)?,
            models,
            metrics: GatewayMetrics::register(registry),
        })
    }

    /// Model names for `GET /v1/models`.
    pub fn models(&self) -> &[String] {
        &self.models
    }

    /// The providers behind the gateway and their breakers.
    pub fn providers(&self) -> Vec<octollm_llm::ProviderStatus> {
        self.llm.providers()
    }

    /// Whether the reflex layer the gateway screens with answers.
    pub async fn screening_reachable(&self) -> bool {
        self.screener.reachable().await
    }

    /// Whether requests need a virtual key.
    pub fn keys_enabled(&self) -> bool {
        self.keys.enabled()
    }

    /// Checks the key without making a request (for `GET /v1/models`).
    pub fn authenticate(&self, presented: Option<&str>) -> Result<(), GatewayError> {
        if self.keys.enabled() && presented.is_none() {
            return Err(GatewayError::Unauthorized);
        }
        match presented {
            Some(p) if self.keys.enabled() => self.keys.knows(p),
            _ => Ok(()),
        }
    }

    /// Runs one exchange; every outcome is counted and audited.
    pub async fn complete(
        &self,
        api: &'static str,
        presented: Option<&str>,
        ex: Exchange,
    ) -> Result<Answer, GatewayError> {
        let started = Instant::now();
        let key = match self.keys.admit(presented) {
            Ok(k) => k,
            Err(e) => {
                let name = match &e {
                    GatewayError::RateLimited { key, .. } => key.clone(),
                    _ => "unknown".to_string(),
                };
                self.finish(api, &name, &ex.model, started, Err(&e), 0, 0);
                return Err(e);
            }
        };
        let result = self.run(&key, &ex).await;
        match &result {
            Ok((a, tokenized, redacted)) => {
                self.finish(api, &key, &ex.model, started, Ok(a), *tokenized, *redacted)
            }
            Err(e) => self.finish(api, &key, &ex.model, started, Err(e), 0, 0),
        }
        result.map(|(a, _, _)| a)
    }

    async fn run(&self, key: &str, ex: &Exchange) -> Result<(Answer, usize, usize), GatewayError> {
        if ex.turns.is_empty() {
            return Err(GatewayError::BadRequest(
                "messages must hold at least one message".into(),
            ));
        }
        let screened = screen_input(&self.screener, &ex.turns).await?;
        let request = ChatRequest {
            messages: screened
                .turns
                .iter()
                .map(|t| match t.role {
                    Role::System => ChatMessage::system(t.text.clone()),
                    Role::Assistant => ChatMessage::assistant(t.text.clone()),
                    // Without the assistant's tool call in the neutral
                    // form, a tool's answer goes up as the user's text.
                    Role::User | Role::Tool => ChatMessage::user(t.text.clone()),
                })
                .collect(),
            max_tokens: ex.max_tokens,
            temperature: ex.temperature,
            ..Default::default()
        };
        let res = self.llm.chat(&request).await.map_err(|e| match e {
            LlmError::NotConfigured => GatewayError::NotConfigured,
            other => GatewayError::Upstream(other.to_string()),
        })?;
        let tokens = res.usage.prompt_tokens + res.usage.completion_tokens;
        // Charged before the answer is screened: the provider was paid.
        self.keys.charge(key, tokens, res.usage.cost_usd);
        let (text, redacted) = screen_output(
            &self.screener,
            self.redaction,
            screened.vault_id.as_deref(),
            &res.text,
        )
        .await?;
        Ok((
            Answer {
                text,
                model: res.model,
                prompt_tokens: res.usage.prompt_tokens,
                completion_tokens: res.usage.completion_tokens,
                cost_usd: res.usage.cost_usd,
            },
            screened.tokenized,
            redacted,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        api: &'static str,
        key: &str,
        model: &str,
        started: Instant,
        outcome: Result<&Answer, &GatewayError>,
        tokenized: usize,
        redacted: usize,
    ) {
        let code = match outcome {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        let km = KeyModel {
            key: key.to_string(),
            model: model.to_string(),
        };
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                key: key.to_string(),
                model: model.to_string(),
                outcome: code.to_string(),
            })
            .inc();
        self.metrics
            .tokenized
            .get_or_create(&km)
            .inc_by(tokenized as u64);
        self.metrics
            .redacted
            .get_or_create(&km)
            .inc_by(redacted as u64);
        let (prompt, completion, cost) = match outcome {
            Ok(a) => (a.prompt_tokens, a.completion_tokens, a.cost_usd),
            Err(_) => (0, 0, 0.0),
        };
        for (direction, n) in [("prompt", prompt), ("completion", completion)] {
            self.metrics
                .tokens
                .get_or_create(&TokenLabels {
                    key: key.to_string(),
                    model: model.to_string(),
                    direction: direction.to_string(),
                })
                .inc_by(n);
        }
        self.metrics.cost.get_or_create(&km).inc_by(cost);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        // Counts and names only: texts, values and keys never reach the log.
        if let Some(log) = &self.audit {
            let record = serde_json::json!({
                "time": chrono::Utc::now().to_rfc3339(),
                "api": api,
                "key": key,
                "model": model,
                "outcome": code,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "cost_usd": cost,
                "pii_tokenized": tokenized,
                "output_redacted": redacted,
                "latency_ms": latency_ms,
            });
            if let Err(e) = log.append(&record) {
                tracing::error!(error = %e, "gateway audit record not written");
            }
        }
        tracing::info!(
            target: "octollm_gateway::audit",
            api,
            key,
            model,
            outcome = code,
            prompt_tokens = prompt,
            completion_tokens = completion,
            cost_usd = cost,
            pii_tokenized = tokenized,
            output_redacted = redacted,
            latency_ms,
            "gateway request"
        );
    }
}
