//! The fallback chain: each provider in order, each with retries and a breaker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_server::MetricsRegistry;
use octollm_types::plan::Usage;
use serde::Serialize;
use tracing::field::Empty;
use tracing::Instrument;

use crate::anthropic::AnthropicProvider;
use crate::metrics::{ErrorLabels, LlmMetrics, ModelLabels, OutcomeLabels, TokenLabels};
use crate::openai::OpenAiProvider;
use crate::wire::ProviderSettings;
use crate::{ChatRequest, ChatResponse, DeltaStream, LlmConfig, LlmError, PriceTable, Provider};
use octollm_server::resilience::RetryPolicy;
use octollm_server::resilience::{BreakerState, CircuitBreaker};

struct Managed {
    provider: Arc<dyn Provider>,
    breaker: CircuitBreaker,
    /// The provider refused a request with tools once: it is asked in JSON
    /// mode from then on, instead of failing every call first.
    no_tools: AtomicBool,
}

impl Managed {
    fn name(&self) -> String {
        format!("{}:{}", self.provider.kind(), self.provider.model())
    }

    fn labels(&self) -> ModelLabels {
        ModelLabels {
            provider: self.provider.kind().to_string(),
            model: self.provider.model().to_string(),
        }
    }
}

/// A provider's name and breaker state, for `/health` and `/capabilities`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderStatus {
    pub name: String,
    pub kind: String,
    pub model: String,
    pub breaker: BreakerState,
}

/// Tuning shared by every provider of a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    pub prices: PriceTable,
}

impl ClientOptions {
    pub fn from_config(cfg: &LlmConfig) -> Result<Self, LlmError> {
        let secs = |v: f64, field: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(LlmError::Config(format!(
                    "{field} must be a non-negative number of seconds"
                )))
            }
        };
        let timeout = secs(cfg.timeout_seconds, "timeout_seconds")?;
        if timeout.is_zero() {
            return Err(LlmError::Config(
                "timeout_seconds must be greater than 0".into(),
            ));
        }
        Ok(ClientOptions {
            timeout,
            retry: RetryPolicy {
                max_retries: cfg.max_retries,
                initial: Duration::from_millis(cfg.backoff_initial_ms),
                max: Duration::from_millis(cfg.backoff_max_ms.max(cfg.backoff_initial_ms)),
                retry_after_max: secs(cfg.retry_after_max_seconds, "retry_after_max_seconds")?,
            },
            breaker_threshold: cfg.breaker_failure_threshold,
            breaker_cooldown: secs(cfg.breaker_cooldown_seconds, "breaker_cooldown_seconds")?,
            prices: PriceTable::with_overrides(&cfg.prices)?,
        })
    }
}

/// The provider layer's entry point. Cheap to share behind an `Arc`.
pub struct LlmClient {
    chain: Vec<Managed>,
    options: ClientOptions,
    metrics: LlmMetrics,
}

impl LlmClient {
    /// Builds the chain `provider` → `fallback_provider` from configuration
    /// and registers the provider metrics. With nothing configured the chain
    /// is empty and [`LlmClient::chat`] answers [`LlmError::NotConfigured`].
    pub fn from_config(cfg: &LlmConfig, registry: &MetricsRegistry) -> Result<Self, LlmError> {
        let options = ClientOptions::from_config(cfg)?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| LlmError::Config(format!("HTTP client: {e}")))?;
        let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
        for (kind, base, model, key) in [
            (&cfg.provider, &cfg.base_url, &cfg.model, &cfg.api_key),
            (
                &cfg.fallback_provider,
                &cfg.fallback_base_url,
                &cfg.fallback_model,
                &cfg.fallback_api_key,
            ),
        ] {
            let settings = ProviderSettings {
                client: http.clone(),
                base_url: base,
                model,
                api_key: key,
                max_tokens: cfg.max_tokens,
                temperature: cfg.temperature,
            };
            let p: Arc<dyn Provider> = match kind.trim().to_ascii_lowercase().as_str() {
                "" | "none" => continue,
                "openai" | "openai-compatible" | "ollama" | "vllm" => {
                    Arc::new(OpenAiProvider::new(settings))
                }
                "anthropic" => Arc::new(AnthropicProvider::new(settings, &cfg.anthropic_version)),
                other => {
                    return Err(LlmError::Config(format!(
                        "unknown provider '{other}': use 'openai' (any OpenAI-compatible server) or 'anthropic'"
                    )))
                }
            };
            providers.push(p);
        }
        Ok(Self::new(
            providers,
            options,
            LlmMetrics::register(registry),
        ))
    }

    /// A chain of arbitrary providers, tried in order.
    pub fn new(
        providers: Vec<Arc<dyn Provider>>,
        options: ClientOptions,
        metrics: LlmMetrics,
    ) -> Self {
        let chain: Vec<Managed> = providers
            .into_iter()
            .map(|provider| Managed {
                provider,
                breaker: CircuitBreaker::new(options.breaker_threshold, options.breaker_cooldown),
                no_tools: AtomicBool::new(false),
            })
            .collect();
        for m in &chain {
            metrics.breaker.get_or_create(&m.labels()).set(0);
        }
        LlmClient {
            chain,
            options,
            metrics,
        }
    }

    pub fn is_configured(&self) -> bool {
        !self.chain.is_empty()
    }

    pub fn providers(&self) -> Vec<ProviderStatus> {
        self.chain
            .iter()
            .map(|m| ProviderStatus {
                name: m.name(),
                kind: m.provider.kind().to_string(),
                model: m.provider.model().to_string(),
                breaker: m.breaker.state(),
            })
            .collect()
    }

    /// Each provider's model list, asked once (no retry, no breaker, no
    /// metrics): what `octollm doctor` calls to prove an address and a key.
    pub async fn list_models(
        &self,
        timeout: Duration,
    ) -> Vec<(ProviderStatus, Result<Vec<String>, LlmError>)> {
        let mut out = Vec::new();
        for (m, status) in self.chain.iter().zip(self.providers()) {
            out.push((status, m.provider.list_models(timeout).await));
        }
        out
    }

    /// Asks each provider in turn until one answers.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        if self.chain.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        let mut errors = Vec::new();
        for managed in &self.chain {
            match self.call_with_tools_fallback(managed, request).await {
                Ok(res) => return Ok(res),
                Err(e) => {
                    tracing::warn!(provider = %managed.name(), error = %e, "LLM provider failed");
                    errors.push(e);
                }
            }
        }
        Err(chain_failed(errors))
    }

    /// A request that forces a tool call goes to a provider that refuses
    /// tools in JSON mode instead, with the same schema.
    async fn call_with_tools_fallback(
        &self,
        m: &Managed,
        request: &ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        if request.response_format.tool().is_none() {
            return self.call(m, request).await;
        }
        if m.no_tools.load(Ordering::Relaxed) {
            return self.call(m, &request.without_tools()).await;
        }
        match self.call(m, request).await {
            Err(e) if e.refuses_tools() => {
                tracing::info!(provider = %m.name(), error = %e, "provider refuses tool calls; using JSON mode");
                m.no_tools.store(true, Ordering::Relaxed);
                self.call(m, &request.without_tools()).await
            }
            other => other,
        }
    }

    /// One provider's answer, retries included: a `chat {model}` span
    /// with the GenAI attributes when traces are exported.
    async fn call(&self, m: &Managed, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let (kind, model) = (m.provider.kind(), m.provider.model());
        let span = tracing::info_span!(target: octollm_server::trace::TARGET, "chat",
            otel.name = %format_args!("chat {model}"), otel.kind = "client", otel.status_code = Empty,
            gen_ai.operation.name = "chat", gen_ai.provider.name = kind, gen_ai.system = kind,
            gen_ai.request.model = model, gen_ai.response.model = Empty,
            gen_ai.usage.input_tokens = Empty, gen_ai.usage.output_tokens = Empty,
            octollm.llm.attempts = Empty, octollm.llm.cost_usd = Empty, error.type = Empty);
        let result = self.attempts(m, request).instrument(span.clone()).await;
        match &result {
            _ if span.is_disabled() => {}
            Ok(r) => {
                span.record("gen_ai.response.model", r.model.as_str());
                span.record("gen_ai.usage.input_tokens", r.usage.prompt_tokens);
                span.record("gen_ai.usage.output_tokens", r.usage.completion_tokens);
                span.record("octollm.llm.attempts", r.attempts);
                span.record("octollm.llm.cost_usd", r.usage.cost_usd);
            }
            Err(e) => {
                span.record("error.type", e.kind());
                span.record("otel.status_code", "error");
            }
        }
        result
    }

    async fn attempts(&self, m: &Managed, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let (c, elapsed, attempts) = self
            .attempt(m, || m.provider.complete(request, self.options.timeout))
            .await?;
        self.observe_latency(m, elapsed);
        Ok(self.account(m, c, elapsed, attempts))
    }

    /// Asks each provider in turn for a streamed answer, until one accepts
    /// the request. Retries, breakers and fallback act only before the
    /// first byte of the answer: once text has reached the caller, a
    /// failure ends the stream instead of starting the answer over
    /// elsewhere. Streams carry text, so a request for a tool call or a
    /// JSON format is refused.
    pub async fn chat_stream(
        self: &Arc<Self>,
        request: &ChatRequest,
    ) -> Result<ChatStream, LlmError> {
        if self.chain.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        if !matches!(request.response_format, crate::ResponseFormat::Text) {
            return Err(LlmError::Config(
                "a streamed answer carries text only".into(),
            ));
        }
        let mut errors = Vec::new();
        for (index, managed) in self.chain.iter().enumerate() {
            let started = Instant::now();
            match self
                .attempt(managed, || {
                    managed.provider.stream(request, self.options.timeout)
                })
                .await
            {
                Ok((inner, _, attempts)) => {
                    return Ok(ChatStream {
                        client: Arc::clone(self),
                        index,
                        inner,
                        started,
                        attempts,
                        response: None,
                        failed: false,
                    })
                }
                Err(e) => {
                    tracing::warn!(provider = %managed.name(), error = %e, "LLM provider failed");
                    errors.push(e);
                }
            }
        }
        Err(chain_failed(errors))
    }

    /// One provider's attempts: `once` until it succeeds, the error is not
    /// worth retrying, the retries are spent or the breaker opens. The
    /// result with how long its attempt took and how many were made.
    async fn attempt<'f, T>(
        &self,
        m: &Managed,
        mut once: impl FnMut() -> futures_util::future::BoxFuture<'f, Result<T, LlmError>>,
    ) -> Result<(T, Duration, u32), LlmError> {
        let labels = m.labels();
        let mut attempt = 0u32;
        loop {
            if !m.breaker.allow() {
                self.sync_breaker(m);
                return Err(LlmError::CircuitOpen { provider: m.name() });
            }
            let started = Instant::now();
            let result = once().await;
            let elapsed = started.elapsed();
            match result {
                Ok(v) => {
                    m.breaker.on_success();
                    self.sync_breaker(m);
                    return Ok((v, elapsed, attempt + 1));
                }
                Err(e) => {
                    self.observe_latency(m, elapsed);
                    self.record_failure(m, &e);
                    if !e.is_retryable() || attempt >= self.options.retry.max_retries {
                        return Err(e);
                    }
                    let Some(delay) = self.options.retry.delay(attempt, e.retry_after()) else {
                        return Err(e);
                    };
                    tracing::debug!(provider = %m.name(), attempt, ?delay, error = %e, "retrying LLM call");
                    self.metrics.retries.get_or_create(&labels).inc();
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    fn observe_latency(&self, m: &Managed, elapsed: Duration) {
        self.metrics
            .latency
            .get_or_create(&m.labels())
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a failed call and tells the provider's breaker.
    fn record_failure(&self, m: &Managed, e: &LlmError) {
        let labels = m.labels();
        self.count_outcome(&labels, "error");
        self.metrics
            .errors
            .get_or_create(&ErrorLabels {
                provider: labels.provider.clone(),
                model: labels.model.clone(),
                kind: e.kind().to_string(),
            })
            .inc();
        if e.counts_against_breaker() {
            m.breaker.on_failure();
        } else {
            // The provider answered; only our request was wrong.
            m.breaker.on_success();
        }
        self.sync_breaker(m);
    }

    fn account(
        &self,
        m: &Managed,
        c: crate::Completion,
        latency: Duration,
        attempts: u32,
    ) -> ChatResponse {
        let cost = self.price(m, &c);
        let labels = m.labels();
        self.count_outcome(&labels, "success");
        for (direction, n) in [
            ("prompt", c.prompt_tokens),
            ("completion", c.completion_tokens),
        ] {
            self.metrics
                .tokens
                .get_or_create(&TokenLabels {
                    provider: labels.provider.clone(),
                    model: labels.model.clone(),
                    direction: direction.to_string(),
                })
                .inc_by(n);
        }
        self.metrics.cost.get_or_create(&labels).inc_by(cost);
        ChatResponse {
            text: c.text,
            tool_call: c.tool_call,
            usage: Usage {
                prompt_tokens: c.prompt_tokens,
                completion_tokens: c.completion_tokens,
                cost_usd: cost,
            },
            provider: m.provider.kind().to_string(),
            model: c.model,
            latency,
            attempts,
        }
    }

    /// The dollars of a completion: by the model the provider names, which
    /// the price table resolves by prefix (dated snapshot names), else by
    /// the model we asked for.
    fn price(&self, m: &Managed, c: &crate::Completion) -> f64 {
        let prices = &self.options.prices;
        let model = if prices.lookup(&c.model).is_some() {
            c.model.as_str()
        } else {
            m.provider.model()
        };
        prices.cost(model, c.prompt_tokens, c.completion_tokens)
    }

    fn count_outcome(&self, labels: &ModelLabels, outcome: &str) {
        self.metrics
            .calls
            .get_or_create(&OutcomeLabels {
                provider: labels.provider.clone(),
                model: labels.model.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    fn sync_breaker(&self, m: &Managed) {
        self.metrics
            .breaker
            .get_or_create(&m.labels())
            .set(m.breaker.state().as_gauge());
    }
}

/// What a chain whose every provider failed answers: the one provider's
/// own error, or all of them.
fn chain_failed(mut errors: Vec<LlmError>) -> LlmError {
    if errors.len() == 1 {
        if let Some(e) = errors.pop() {
            return e;
        }
    }
    LlmError::AllProvidersFailed(errors)
}

/// A streamed answer from the provider that accepted the request. Its
/// usage is priced and counted once the provider ends the answer; a
/// failure mid-answer counts against that provider's breaker.
pub struct ChatStream {
    client: Arc<LlmClient>,
    index: usize,
    inner: DeltaStream,
    started: Instant,
    attempts: u32,
    response: Option<ChatResponse>,
    failed: bool,
}

impl ChatStream {
    /// The next piece of text; `None` once the answer is complete, after
    /// which [`ChatStream::response`] holds its usage and cost.
    pub async fn next(&mut self) -> Result<Option<String>, LlmError> {
        if self.response.is_some() {
            return Ok(None);
        }
        let Some(m) = self.client.chain.get(self.index) else {
            return Err(LlmError::NotConfigured);
        };
        match self.inner.next().await {
            Ok(Some(text)) => Ok(Some(text)),
            Ok(None) => {
                let elapsed = self.started.elapsed();
                self.client.observe_latency(m, elapsed);
                let done = self
                    .client
                    .account(m, self.inner.completion(), elapsed, self.attempts);
                self.response = Some(done);
                Ok(None)
            }
            Err(e) => {
                if !self.failed {
                    self.failed = true;
                    self.client.record_failure(m, &e);
                }
                Err(e)
            }
        }
    }

    /// The answer's usage and cost (its text left empty: the caller has
    /// it), once the stream is complete.
    pub fn response(&self) -> Option<&ChatResponse> {
        self.response.as_ref()
    }

    /// The usage the provider reported so far (estimated where it did
    /// not): what a stream that failed or was dropped still cost.
    pub fn usage_so_far(&self) -> Usage {
        let c = self.inner.completion();
        let cost = match self.client.chain.get(self.index) {
            Some(m) => self.client.price(m, &c),
            None => 0.0,
        };
        Usage {
            prompt_tokens: c.prompt_tokens,
            completion_tokens: c.completion_tokens,
            cost_usd: cost,
        }
    }
}
