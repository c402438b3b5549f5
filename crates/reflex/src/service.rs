//! HTTP handlers of the reflex layer. Thin: parse, limit, screen, answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use octollm_server::health::{HealthBody, ReadyBody};
use octollm_server::trace::TARGET;
use octollm_server::{ApiError, ApiJson, ClientIdentity, RequestId, ServiceOptions, Uptime};
use octollm_types::reflex::{
    BatchRequest, BatchResponse, Decision, InjectionFinding, PiiFinding, ProcessRequest,
    ProcessResponse, Redact, RedactionStrategy, RestoreRequest, RestoreResponse, Severity, Source,
};
use serde::Serialize;
use serde_json::{json, Map};
use tracing::field::Empty;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cache::{CacheOutcome, MemoryCache, VerdictCache};
use crate::config::ReflexConfig;
use crate::custom::CustomRules;
use crate::engine::{Engine, EngineError, Options, Verdict};
use crate::metrics::{BackendLabel, DecisionLabel, InjectionLabels, ReflexMetrics, TypeLabel};
use crate::ratelimit::{LimiterBackend, RateDecision, RateLimiter};
use crate::redact::HashKey;
use crate::redis_link::RedisLink;
use crate::vault::VaultError;

/// Texts larger than this are screened off the async workers.
const INLINE_SCAN_LIMIT: usize = 128 * 1024;

/// The engine for `config`, with its rules file when one is set.
fn build_engine(config: &ReflexConfig, block_at: Severity) -> Result<Engine, ReflexError> {
    let rules = if config.rules_file.trim().is_empty() {
        CustomRules::default()
    } else {
        CustomRules::load(std::path::Path::new(config.rules_file.trim()))?
    };
    Ok(Engine::with_rules(
        block_at,
        HashKey::new(&config.hash_key),
        rules,
    )?)
}

#[derive(Debug, thiserror::Error)]
pub enum ReflexError {
    #[error("invalid reflex configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Redis(#[from] crate::redis_link::LinkError),
    #[error(transparent)]
    Rules(#[from] crate::custom::RulesError),
}

/// Everything the handlers share.
pub struct Reflex {
    /// Swapped whole when the rules file is reloaded: a request holds the
    /// engine it started with.
    engine: parking_lot::RwLock<Arc<Engine>>,
    pub cache: VerdictCache,
    pub limiter: RateLimiter,
    pub redis: Option<RedisLink>,
    pub metrics: ReflexMetrics,
    pub vault: crate::vault::Vault,
    pub config: ReflexConfig,
    pub uptime: Uptime,
}

impl Reflex {
    /// Builds the detectors and backends. With a Redis URL it waits briefly
    /// for a first connection but starts anyway (degraded) without one.
    pub async fn new(
        config: ReflexConfig,
        metrics: &octollm_server::MetricsRegistry,
    ) -> Result<Self, ReflexError> {
        let block_at = Severity::parse(&config.block_severity).ok_or_else(|| {
            ReflexError::Config(format!(
                "block_severity must be low, medium, high or critical, not '{}'",
                config.block_severity
            ))
        })?;
        let engine = Arc::new(build_engine(&config, block_at)?);
        let redis = if config.redis_url.is_empty() {
            None
        } else {
            let link = RedisLink::start(
                &config.redis_url,
                Duration::from_millis(config.redis_timeout_ms.max(1)),
            )?;
            link.connect_now(Duration::from_secs(2)).await;
            Some(link)
        };
        let cache = match (&redis, config.cache_enabled) {
            (_, false) => VerdictCache::Disabled,
            (None, true) => VerdictCache::Memory(MemoryCache::new(config.cache_capacity)),
            (Some(link), true) => VerdictCache::Redis {
                link: link.clone(),
                prefix: config.redis_key_prefix.clone(),
                ttl_seconds: config.cache_ttl_seconds.max(1),
                fallback: MemoryCache::new(config.cache_capacity),
            },
        };
        let limiter = RateLimiter::new(
            config.rate_limit_enabled,
            config.rate_limit_per_second,
            config.rate_limit_burst,
            redis.clone().map(|l| (l, config.redis_key_prefix.clone())),
        );
        let vault = crate::vault::Vault::new(
            &config.vault_key,
            Duration::from_secs(config.vault_ttl_seconds.max(1)),
            redis.clone().map(|l| (l, config.redis_key_prefix.clone())),
        );
        Ok(Reflex {
            engine: parking_lot::RwLock::new(engine),
            cache,
            limiter,
            redis,
            vault,
            metrics: ReflexMetrics::register(metrics),
            config,
            uptime: Uptime::now(),
        })
    }

    /// The engine requests are screened with now.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.read().clone()
    }

    /// Reads the rules file again and swaps in an engine built with it;
    /// requests already running finish with the old one. On an error the
    /// old engine stays. Returns how many entries the rules hold.
    pub fn reload_rules(&self) -> Result<usize, ReflexError> {
        let block_at = self.engine().block_at();
        let engine = Arc::new(build_engine(&self.config, block_at)?);
        let n = engine.custom_rules();
        *self.engine.write() = engine;
        Ok(n)
    }

    /// Screens `text`, through the cache when asked. Returns the verdict
    /// and whether it came from the cache.
    pub async fn screen(&self, text: &str, o: Options, use_cache: bool) -> (Arc<Verdict>, bool) {
        let use_cache = use_cache && !matches!(self.cache, VerdictCache::Disabled);
        let key = use_cache.then(|| self.engine().cache_key(text, &o));
        if let Some(key) = &key {
            let (hit, outcome) = self.cache.get(key).await;
            if outcome == CacheOutcome::Degraded {
                self.metrics.redis_errors.inc();
            }
            if let Some(v) = hit {
                self.metrics.cache_hits.inc();
                return (v, true);
            }
            self.metrics.cache_misses.inc();
        }
        let started = Instant::now();
        let verdict = if text.len() > INLINE_SCAN_LIMIT {
            let engine = self.engine();
            let owned = text.to_string();
            match tokio::task::spawn_blocking(move || engine.analyze_shared(&owned, &o)).await {
                Ok(v) => v,
                Err(_) => self.engine().analyze_shared(text, &o),
            }
        } else {
            self.engine().analyze_shared(text, &o)
        };
        self.metrics
            .scan_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.scanned_bytes.inc_by(text.len() as u64);
        self.record(&verdict);
        if let Some(key) = key {
            if self.cache.put(key, verdict.clone()).await.is_err() {
                self.metrics.redis_errors.inc();
            }
        }
        (verdict, false)
    }

    fn record(&self, v: &Verdict) {
        for p in &v.pii_detected {
            self.metrics
                .pii
                .get_or_create(&TypeLabel {
                    r#type: p.kind.as_str(),
                })
                .inc();
        }
        for i in &v.injections {
            self.metrics
                .injections
                .get_or_create(&InjectionLabels {
                    category: i.category.as_str(),
                    severity: i.severity.as_str(),
                })
                .inc();
        }
    }

    async fn admit(
        &self,
        identity: &ClientIdentity,
        user_id: Option<&str>,
        cost: f64,
    ) -> Result<(), ApiError> {
        if !self.limiter.enabled() {
            return Ok(());
        }
        let (decision, backend) = self.limiter.check(&identity.rate_key(user_id), cost).await;
        let label = match backend {
            LimiterBackend::Memory => "memory",
            LimiterBackend::Redis => "redis",
            LimiterBackend::Fallback => {
                self.metrics.redis_errors.inc();
                "fallback"
            }
        };
        self.metrics
            .rate_checks
            .get_or_create(&BackendLabel { backend: label })
            .inc();
        match decision {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Limited { retry_after } => {
                self.metrics.rate_limited.inc();
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    format!("Rate limit exceeded; retry in {retry_after} s"),
                )
                .with_details(json!({"retry_after_seconds": retry_after}))
                .with_retry_after(retry_after))
            }
        }
    }

    fn redis_state(&self) -> &'static str {
        match &self.redis {
            None => "disabled",
            Some(l) if l.is_connected() => "connected",
            Some(_) => "disconnected",
        }
    }
}

/// The reflex router, finished with the shared layers.
pub async fn app(config: ReflexConfig, opts: ServiceOptions) -> Result<Router, ReflexError> {
    let state = Arc::new(Reflex::new(config, &opts.metrics).await?);
    Ok(octollm_server::finish(router(state), opts))
}

#[derive(OpenApi)]
#[openapi(info(
    title = "OctoLLM reflex layer",
    description = "Screens text for PII, secrets and prompt injection; redacts and restores."
))]
struct ApiDoc;

/// The reflex layer's routes and their OpenAPI document.
pub fn router(state: Arc<Reflex>) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(process))
        .routes(routes!(process_unversioned))
        .routes(routes!(batch))
        .routes(routes!(restore))
        .routes(routes!(health))
        .routes(routes!(ready))
        .with_state(state)
}

/// The wire shape of a process answer, borrowing from the shared verdict.
#[derive(Serialize)]
struct ProcessOut<'a> {
    request_id: &'a str,
    safe: bool,
    status: Decision,
    pii_detected: &'a [PiiFinding],
    injections: &'a [InjectionFinding],
    redacted_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_severity: Option<Severity>,
    cached: bool,
    latency_ms: f64,
}

impl<'a> ProcessOut<'a> {
    fn new(request_id: &'a str, v: &'a Verdict, cached: bool, started: Instant) -> Self {
        ProcessOut {
            request_id,
            safe: v.safe,
            status: v.status,
            pii_detected: &v.pii_detected,
            injections: &v.injections,
            redacted_text: v.redacted_text.as_deref(),
            vault_id: None,
            max_severity: v.max_severity,
            cached,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

fn json_response<T: Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => ApiError::internal(format!("could not encode response: {e}")).into_response(),
    }
}

fn options(
    check_pii: bool,
    check_injection: bool,
    redact: bool,
    strategy: RedactionStrategy,
) -> Result<Options, ApiError> {
    if !check_pii && !check_injection {
        return Err(ApiError::unprocessable(
            "At least one of check_pii and check_injection must be true",
        ));
    }
    Ok(Options {
        check_pii,
        check_injection,
        redact,
        strategy,
        source: Source::User,
    })
}

/// Screens one text: PII, secrets and prompt injection, and its redacted
/// form.
#[utoipa::path(post, path = "/api/v1/reflex/process", tag = "reflex", request_body = ProcessRequest,
    responses((status = 200, description = "The verdict", body = ProcessResponse)))]
async fn process(
    State(s): State<Arc<Reflex>>,
    Extension(RequestId(rid)): Extension<RequestId>,
    Extension(identity): Extension<ClientIdentity>,
    ApiJson(req): ApiJson<ProcessRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let o = check_process(&req)?;
    s.admit(&identity, req.user_id.as_deref(), 1.0).await?;
    if req.redact == Redact::Tokenize {
        let mut out = s.process(&req).await?;
        out.request_id = rid;
        return Ok(json_response(&out));
    }
    let (verdict, cached) = s.screen_counted(&req.text, o, req.use_cache).await;
    Ok(json_response(&ProcessOut::new(
        &rid, &verdict, cached, started,
    )))
}

/// `/api/v1/reflex/process` under its first, unversioned path.
#[utoipa::path(post, path = "/process", tag = "reflex", request_body = ProcessRequest, operation_id = "process_unversioned",
    responses((status = 200, description = "The verdict", body = ProcessResponse)))]
async fn process_unversioned(
    state: State<Arc<Reflex>>,
    rid: Extension<RequestId>,
    identity: Extension<ClientIdentity>,
    req: ApiJson<ProcessRequest>,
) -> Result<Response, ApiError> {
    process(state, rid, identity, req).await
}

/// `POST /api/v1/reflex/restore`: a tokenized text's values put back.
#[utoipa::path(post, path = "/api/v1/reflex/restore", tag = "reflex", request_body = RestoreRequest,
    responses((status = 200, description = "The text with its placeholders replaced", body = RestoreResponse)))]
async fn restore(
    State(s): State<Arc<Reflex>>,
    Extension(identity): Extension<ClientIdentity>,
    ApiJson(req): ApiJson<RestoreRequest>,
) -> Result<Response, ApiError> {
    s.admit(&identity, None, 1.0).await?;
    Ok(json_response(&s.restore(&req).await?))
}

#[derive(Serialize)]
struct BatchOut<'a> {
    request_id: &'a str,
    results: Vec<ProcessOut<'a>>,
    count: usize,
    safe: bool,
    latency_ms: f64,
}

/// Screens up to the configured number of texts in one request.
#[utoipa::path(post, path = "/api/v1/reflex/batch", tag = "reflex", request_body = BatchRequest,
    responses((status = 200, description = "One verdict per text, in order", body = BatchResponse)))]
async fn batch(
    State(s): State<Arc<Reflex>>,
    Extension(RequestId(rid)): Extension<RequestId>,
    Extension(identity): Extension<ClientIdentity>,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let o = s.check_batch(&req)?;
    s.admit(&identity, req.user_id.as_deref(), req.texts.len() as f64)
        .await?;
    let mut verdicts = Vec::with_capacity(req.texts.len());
    for text in &req.texts {
        let item_started = Instant::now();
        let (v, cached) = s.screen_counted(text, o, req.use_cache).await;
        verdicts.push((v, cached, item_started));
    }
    let results: Vec<ProcessOut> = verdicts
        .iter()
        .map(|(v, cached, t)| ProcessOut::new(&rid, v, *cached, *t))
        .collect();
    let safe = results.iter().all(|r| r.safe);
    let out = BatchOut {
        request_id: &rid,
        count: results.len(),
        safe,
        results,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Ok(json_response(&out))
}

/// The request checks of `/process`, shared with in-process callers.
fn check_process(req: &ProcessRequest) -> Result<Options, ApiError> {
    if req.text.is_empty() {
        return Err(ApiError::bad_request(
            "EMPTY_TEXT",
            "Field 'text' must not be empty",
        ));
    }
    let mut o = options(
        req.check_pii,
        req.check_injection,
        req.redact.is_on(),
        req.redaction_strategy,
    )?;
    o.source = req.source;
    Ok(o)
}

impl Reflex {
    /// The request checks of `/batch`, shared with in-process callers.
    fn check_batch(&self, req: &BatchRequest) -> Result<Options, ApiError> {
        if req.texts.is_empty() {
            return Err(ApiError::bad_request(
                "EMPTY_BATCH",
                "Field 'texts' must hold at least one text",
            ));
        }
        if req.texts.len() > self.config.max_batch {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BATCH_TOO_LARGE",
                format!(
                    "A batch holds at most {} texts; got {}",
                    self.config.max_batch,
                    req.texts.len()
                ),
            ));
        }
        if let Some(i) = req.texts.iter().position(String::is_empty) {
            return Err(ApiError::bad_request(
                "EMPTY_TEXT",
                format!("texts[{i}] must not be empty"),
            ));
        }
        options(
            req.check_pii,
            req.check_injection,
            req.redact,
            req.redaction_strategy,
        )
    }

    /// Screens and counts the decision; each text screened is a
    /// `reflex.process` span when traces are exported.
    async fn screen_counted(
        &self,
        text: &str,
        o: Options,
        use_cache: bool,
    ) -> (Arc<Verdict>, bool) {
        let span = tracing::info_span!(target: TARGET, "reflex.process",
            reflex.text_bytes = text.len(), reflex.source = ?o.source, reflex.decision = Empty,
            reflex.cached = Empty, reflex.pii_found = Empty, reflex.injections_found = Empty);
        let (v, cached) = self
            .screen(text, o, use_cache)
            .instrument(span.clone())
            .await;
        let status = match v.status {
            Decision::Allowed => "allowed",
            Decision::Blocked => "blocked",
        };
        span.record("reflex.decision", status);
        span.record("reflex.cached", cached);
        span.record("reflex.pii_found", v.pii_detected.len());
        span.record("reflex.injections_found", v.injections.len());
        self.metrics
            .decisions
            .get_or_create(&DecisionLabel { status })
            .inc();
        (v, cached)
    }

    /// `/process` for a caller in this process (the orchestrator under
    /// `octollm up`): the same checks and screening, typed, without the
    /// per-client rate limit that guards the HTTP endpoint.
    pub async fn process(&self, req: &ProcessRequest) -> Result<ProcessResponse, ApiError> {
        let started = Instant::now();
        let mut o = check_process(req)?;
        if req.redact != Redact::Tokenize {
            let (v, cached) = self.screen_counted(&req.text, o, req.use_cache).await;
            return Ok(typed(&v, cached, started));
        }
        // The values go into the vault, never into the verdict cache.
        o.redact = false;
        let (v, _) = self.screen_counted(&req.text, o, false).await;
        let found = self.engine().pii(&req.text);
        let (text, vault_id) = match &req.vault_id {
            // Against an existing entry: its values keep their placeholders,
            // others are labelled, the entry is not changed.
            Some(id) => {
                let mapping = self.vault_entry(id).await?;
                (
                    crate::vault::tokenize_known(&req.text, &found, &mapping),
                    id.clone(),
                )
            }
            None => {
                let (text, mapping) = crate::vault::tokenize(&req.text, &found);
                let id = self.vault.put(&mapping).await.map_err(|e| {
                    ApiError::unavailable("VAULT_UNAVAILABLE", e.to_string()).with_retry_after(1)
                })?;
                (text, id)
            }
        };
        let mut out = typed(&v, false, started);
        out.redacted_text = Some(text);
        out.vault_id = Some(vault_id);
        Ok(out)
    }

    /// `/restore` for a caller in this process.
    pub async fn restore(&self, req: &RestoreRequest) -> Result<RestoreResponse, ApiError> {
        let mapping = self.vault_entry(&req.vault_id).await?;
        let (text, restored) = crate::vault::restore(&req.text, &mapping);
        Ok(RestoreResponse { text, restored })
    }

    /// The mapping stored under `vault_id`, or the 4xx/503 that says why not.
    async fn vault_entry(&self, vault_id: &str) -> Result<crate::vault::Mapping, ApiError> {
        if uuid::Uuid::parse_str(vault_id).is_err() {
            return Err(ApiError::bad_request(
                "INVALID_VAULT_ID",
                format!("'{vault_id}' is not a vault id"),
            ));
        }
        self.vault.get(vault_id).await.map_err(|e| match e {
            VaultError::Missing(_) => ApiError::not_found(e.to_string()),
            VaultError::Sealed => ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "VAULT_SEALED",
                e.to_string(),
            ),
            VaultError::Store(_) => {
                ApiError::unavailable("VAULT_UNAVAILABLE", e.to_string()).with_retry_after(1)
            }
        })
    }

    /// `/batch` for a caller in this process; see [`Reflex::process`].
    pub async fn batch(&self, req: &BatchRequest) -> Result<BatchResponse, ApiError> {
        let started = Instant::now();
        let o = self.check_batch(req)?;
        let mut results = Vec::with_capacity(req.texts.len());
        for text in &req.texts {
            let item_started = Instant::now();
            let (v, cached) = self.screen_counted(text, o, req.use_cache).await;
            results.push(typed(&v, cached, item_started));
        }
        Ok(BatchResponse {
            request_id: String::new(),
            count: results.len(),
            safe: results.iter().all(|r| r.safe),
            results,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

/// A verdict as the typed answer in-process callers get; the HTTP handlers
/// serialise [`ProcessOut`], which borrows instead of copying.
fn typed(v: &Verdict, cached: bool, started: Instant) -> ProcessResponse {
    ProcessResponse {
        request_id: String::new(),
        safe: v.safe,
        status: v.status,
        pii_detected: v.pii_detected.clone(),
        injections: v.injections.clone(),
        redacted_text: v.redacted_text.clone(),
        vault_id: None,
        max_severity: v.max_severity,
        cached,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

/// Liveness and the state of the cache and rate-limit backends.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, body = HealthBody)))]
async fn health(State(s): State<Arc<Reflex>>) -> Json<serde_json::Value> {
    let redis = s.redis_state();
    s.metrics.cache_entries.set(s.cache.local_entries() as i64);
    let mut extra = Map::new();
    extra.insert("redis".into(), redis.into());
    extra.insert("cache".into(), s.cache.backend().into());
    extra.insert("rate_limiter".into(), s.limiter.backend().into());
    extra.insert(
        "block_severity".into(),
        s.engine().block_at().as_str().into(),
    );
    extra.insert("cache_entries".into(), s.cache.local_entries().into());
    Json(
        s.uptime
            .health_body("reflex", redis == "disconnected", extra),
    )
}

/// 200 when every dependency answers, else 503.
#[utoipa::path(get, path = "/ready", tag = "service", responses((status = 200, body = ReadyBody)))]
async fn ready(State(s): State<Arc<Reflex>>) -> Response {
    // Configured but unreachable Redis: serving degraded, not ready.
    octollm_server::health::ready(&[("redis", s.redis_state() != "disconnected")])
}
