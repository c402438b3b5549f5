//! One request through the gateway: admit the key, screen, forward,
//! screen the answer, charge, record. Provider-neutral; the wire formats
//! live in `openai` and `anthropic`.

use std::sync::Arc;
use std::time::Instant;

use octollm_llm::{ChatMessage, ChatRequest, LlmClient, LlmError, Role};

use crate::config::ResponseRedaction;
use crate::keys::Keys;
use crate::metrics::{GatewayMetrics, KeyModel, RequestLabels, TokenLabels};
use crate::relay::Relay;
use crate::screen::Screener;
use crate::screening::{screen_input, screen_output, Screened, Turn};
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
    pub(crate) screener: Screener,
    llm: Arc<LlmClient>,
    pub(crate) keys: Keys,
    pub(crate) redaction: ResponseRedaction,
    pub(crate) stream_window: usize,
    models: Vec<String>,
    metrics: GatewayMetrics,
}

/// What a request cost, for the audit log and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Spent {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

impl From<&Answer> for Spent {
    fn from(a: &Answer) -> Self {
        Spent {
            prompt_tokens: a.prompt_tokens,
            completion_tokens: a.completion_tokens,
            cost_usd: a.cost_usd,
        }
    }
}

/// How one request went, as the audit log and the metrics count it.
pub(crate) struct Outcome<'a> {
    pub api: &'static str,
    pub key: &'a str,
    pub model: &'a str,
    pub started: Instant,
    /// `ok` or the error's code.
    pub code: &'a str,
    pub spent: Spent,
    pub tokenized: usize,
    pub redacted: usize,
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
        if config.stream_window_chars < 16 {
            return Err(GatewayError::Config(
                "stream_window_chars must be at least 16".into(),
            ));
        }
        Ok(Gateway {
            audit,
            screener,
            llm,
            keys: Keys::from_config(config)?,
            redaction: ResponseRedaction::parse(&config.response_redaction)?,
            stream_window: config.stream_window_chars,
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

    /// Whether the keys' budgets can be checked (always, unless they are
    /// shared in a Redis that cannot be reached).
    pub fn budgets_reachable(&self) -> bool {
        self.keys.budgets_reachable()
    }

    /// Waits up to `wait` for shared budgets, so the first requests after
    /// a start are not refused while Redis is still being reached.
    pub async fn connect_budgets(&self, wait: std::time::Duration) -> bool {
        self.keys.connect(wait).await
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
        let key = self.admit(api, presented, &ex.model, started).await?;
        let result = self.run(&key, &ex).await;
        let (code, spent, tokenized, redacted) = match &result {
            Ok((a, tokenized, redacted)) => ("ok", Spent::from(a), *tokenized, *redacted),
            Err(e) => (e.code(), Spent::default(), 0, 0),
        };
        self.finish(Outcome {
            api,
            key: &key,
            model: &ex.model,
            started,
            code,
            spent,
            tokenized,
            redacted,
        });
        result.map(|(a, _, _)| a)
    }

    /// Opens a streamed exchange: the key admitted, the input screened and
    /// the provider's answer started, each refusal before the first byte
    /// an ordinary error. The answer then comes through the [`Relay`].
    pub async fn open_stream(
        self: &Arc<Self>,
        api: &'static str,
        presented: Option<&str>,
        ex: Exchange,
    ) -> Result<Relay, GatewayError> {
        let started = Instant::now();
        let key = self.admit(api, presented, &ex.model, started).await?;
        let opened = async {
            let (request, screened) = self.prepare(&ex).await?;
            let upstream = self
                .llm
                .chat_stream(&request)
                .await
                .map_err(upstream_error)?;
            Ok::<_, GatewayError>((upstream, screened))
        }
        .await;
        match opened {
            Ok((upstream, screened)) => Ok(Relay::new(
                Arc::clone(self),
                api,
                key,
                ex.model,
                started,
                upstream,
                screened,
            )),
            Err(e) => {
                self.finish(Outcome {
                    api,
                    key: &key,
                    model: &ex.model,
                    started,
                    code: e.code(),
                    spent: Spent::default(),
                    tokenized: 0,
                    redacted: 0,
                });
                Err(e)
            }
        }
    }

    /// The key's name when it may make a request now; a refusal is
    /// recorded before it is returned.
    async fn admit(
        &self,
        api: &'static str,
        presented: Option<&str>,
        model: &str,
        started: Instant,
    ) -> Result<String, GatewayError> {
        self.keys.admit(presented).await.inspect_err(|e| {
            let name = match e {
                GatewayError::RateLimited { key, .. } => key.as_str(),
                _ => "unknown",
            };
            self.finish(Outcome {
                api,
                key: name,
                model,
                started,
                code: e.code(),
                spent: Spent::default(),
                tokenized: 0,
                redacted: 0,
            });
        })
    }

    /// The request as it may leave: input screened, personal data
    /// tokenized.
    async fn prepare(&self, ex: &Exchange) -> Result<(ChatRequest, Screened), GatewayError> {
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
        Ok((request, screened))
    }

    async fn run(&self, key: &str, ex: &Exchange) -> Result<(Answer, usize, usize), GatewayError> {
        let (request, screened) = self.prepare(ex).await?;
        let res = self.llm.chat(&request).await.map_err(upstream_error)?;
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

    /// Counts and audits one finished request.
    pub(crate) fn finish(&self, o: Outcome<'_>) {
        let Outcome {
            api,
            key,
            model,
            started,
            code,
            spent,
            tokenized,
            redacted,
        } = o;
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
        let Spent {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: cost,
        } = spent;
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

fn upstream_error(e: LlmError) -> GatewayError {
    match e {
        LlmError::NotConfigured => GatewayError::NotConfigured,
        other => GatewayError::Upstream(other.to_string()),
    }
}
