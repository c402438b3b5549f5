//! Typed HTTP clients for the reflex layer, the planner and the executor,
//! with retries on transient errors and a circuit breaker per arm.

use std::future::Future;
use std::time::{Duration, Instant};

use octollm_llm::{BreakerState, CircuitBreaker};
use rand::Rng;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::config::OrchestratorConfig;
use crate::metrics::{ArmLabels, Metrics};

/// One remote component.
#[derive(Debug)]
pub struct Arm {
    pub name: &'static str,
    pub url: String,
    pub capabilities: Vec<String>,
    breaker: CircuitBreaker,
}

impl Arm {
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }
}

/// What an arm answered (any status that is not a transient failure).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The SPEC §2 envelope's code, when the body is one.
    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }

    pub fn error_message(&self) -> String {
        self.body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ArmError {
    #[error("the {arm} is unavailable: {message}")]
    Unavailable { arm: &'static str, message: String },
    #[error("the {arm}'s circuit breaker is open after repeated failures")]
    BreakerOpen { arm: &'static str },
    #[error("the task's deadline passed while waiting for the {arm}")]
    Deadline { arm: &'static str },
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    retries: u32,
    base: Duration,
    max: Duration,
}

impl Backoff {
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max);
        // Jitter keeps a crowd of workers from retrying in lockstep.
        let jittered = exp.mul_f64(rand::thread_rng().gen_range(0.5..1.0));
        retry_after.map_or(jittered, |ra| ra.min(self.max).max(jittered))
    }
}

/// The three arms the orchestrator drives.
pub struct Arms {
    http: reqwest::Client,
    api_key: String,
    backoff: Backoff,
    metrics: Metrics,
    pub reflex: Arm,
    pub planner: Arm,
    pub executor: Arm,
}

enum Attempt {
    Answer(Reply),
    Transient(String, Option<Duration>),
}

impl Arms {
    pub fn new(config: &OrchestratorConfig, metrics: Metrics) -> Result<Arms, reqwest::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .pool_max_idle_per_host(64)
            .build()?;
        let arm = |name, url: &str, caps: &[&str]| Arm {
            name,
            url: url.trim_end_matches('/').to_string(),
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            breaker: CircuitBreaker::new(
                config.breaker_failure_threshold,
                config.breaker_cooldown(),
            ),
        };
        Ok(Arms {
            http,
            api_key: config.arms_api_key.clone(),
            backoff: Backoff {
                retries: config.max_retries,
                base: Duration::from_millis(config.retry_backoff_ms.max(1)),
                max: Duration::from_millis(config.retry_backoff_max_ms.max(1)),
            },
            metrics,
            reflex: arm(
                "reflex",
                &config.reflex_url,
                &["pii_detection", "injection_detection", "redaction"],
            ),
            planner: arm("planner", &config.planner_url, &["planning"]),
            executor: arm(
                "executor",
                &config.executor_url,
                &["shell", "http_fetch", "python"],
            ),
        })
    }

    pub fn all(&self) -> [&Arm; 3] {
        [&self.reflex, &self.planner, &self.executor]
    }

    /// Looks an arm up by the name a plan step uses.
    pub fn by_name(&self, name: &str) -> Option<&Arm> {
        self.all().into_iter().find(|a| a.name == name)
    }

    /// Exports each breaker's state.
    pub fn publish_breakers(&self) {
        for arm in self.all() {
            self.metrics
                .breaker_state
                .get_or_create(&ArmLabels {
                    arm: arm.name.to_string(),
                })
                .set(arm.breaker.state().as_gauge());
        }
    }

    async fn attempt(
        &self,
        arm: &Arm,
        path: &str,
        body: &(impl Serialize + ?Sized),
        timeout: Duration,
    ) -> Attempt {
        let mut req = self
            .http
            .post(format!("{}{path}", arm.url))
            .timeout(timeout)
            .json(body);
        if !self.api_key.is_empty() {
            req = req.bearer_auth(&self.api_key);
        }
        let started = Instant::now();
        let res = req.send().await;
        self.metrics
            .arm_latency
            .get_or_create(&ArmLabels {
                arm: arm.name.to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
        let res = match res {
            Ok(r) => r,
            Err(e) => return Attempt::Transient(describe(&e), None),
        };
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let transient = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::INTERNAL_SERVER_ERROR
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        );
        let body: Value = match res.bytes().await {
            Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
            Err(e) => return Attempt::Transient(describe(&e), None),
        };
        if transient {
            let reply = Reply {
                status: status.as_u16(),
                body,
            };
            let msg = format!("HTTP {}: {}", status.as_u16(), reply.error_message());
            return Attempt::Transient(msg, retry_after);
        }
        Attempt::Answer(Reply {
            status: status.as_u16(),
            body,
        })
    }

    /// POSTs `body` to `arm`, retrying transient failures with backoff
    /// until `deadline`; `on_retry(attempt, error, delay)` is awaited
    /// before each retry so callers can record it.
    pub async fn call<B, F, Fut>(
        &self,
        arm: &Arm,
        path: &str,
        body: &B,
        timeout: Duration,
        deadline: Option<Instant>,
        mut on_retry: F,
    ) -> Result<Reply, ArmError>
    where
        B: Serialize + ?Sized,
        F: FnMut(u32, String, Duration) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut attempt = 0u32;
        loop {
            let (message, retry_after) = if arm.breaker.allow() {
                let timeout = match deadline {
                    Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
                    None => timeout,
                };
                if timeout.is_zero() {
                    return Err(ArmError::Deadline { arm: arm.name });
                }
                match self.attempt(arm, path, body, timeout).await {
                    Attempt::Answer(reply) => {
                        arm.breaker.on_success();
                        self.metrics.arm_call(arm.name, "ok");
                        self.publish_breakers();
                        return Ok(reply);
                    }
                    Attempt::Transient(msg, ra) => {
                        arm.breaker.on_failure();
                        self.metrics.arm_call(arm.name, "transient_error");
                        self.publish_breakers();
                        (msg, ra)
                    }
                }
            } else {
                self.metrics.arm_call(arm.name, "breaker_open");
                (String::new(), None)
            };
            if attempt >= self.backoff.retries {
                return Err(if message.is_empty() {
                    ArmError::BreakerOpen { arm: arm.name }
                } else {
                    ArmError::Unavailable {
                        arm: arm.name,
                        message,
                    }
                });
            }
            let delay = self.backoff.delay(attempt, retry_after);
            if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                return Err(ArmError::Deadline { arm: arm.name });
            }
            attempt += 1;
            self.metrics
                .arm_retries
                .get_or_create(&ArmLabels {
                    arm: arm.name.to_string(),
                })
                .inc();
            let shown = if message.is_empty() {
                "circuit breaker open".to_string()
            } else {
                message
            };
            on_retry(attempt, shown, delay).await;
            tokio::time::sleep(delay).await;
        }
    }

    /// `GET <arm>/health` with a short timeout: (`healthy`|`degraded`|`unreachable`, latency ms).
    pub async fn probe(&self, arm: &Arm) -> (String, Option<f64>) {
        let started = Instant::now();
        let res = self
            .http
            .get(format!("{}/health", arm.url))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match res {
            Ok(r) if r.status().is_success() => {
                let status = r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| "healthy".to_string());
                (status, Some(ms))
            }
            Ok(_) => ("degraded".to_string(), Some(ms)),
            Err(_) => ("unreachable".to_string(), None),
        }
    }
}

/// No retry at all: for calls whose caller handles failure itself.
pub async fn no_retry_hook(_: u32, _: String, _: Duration) {}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        e.to_string()
    }
}
