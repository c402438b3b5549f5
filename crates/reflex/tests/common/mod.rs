//! Starts a real reflex server on a loopback port for a test.
#![allow(dead_code)]

use std::net::SocketAddr;

use octollm_reflex::ReflexConfig;
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};

pub struct Server {
    pub url: String,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn start(config: ReflexConfig) -> Server {
    start_with(config, ApiKeys::default(), 1024 * 1024).await
}

pub async fn start_with(config: ReflexConfig, api_keys: ApiKeys, body_limit: usize) -> Server {
    let opts = ServiceOptions {
        body_limit,
        api_keys,
        metrics: MetricsRegistry::new("reflex"),
    };
    let router = octollm_reflex::app(config, opts).await.expect("reflex app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(octollm_server::serve(listener, router, async move {
        let _ = rx.await;
    }));
    Server {
        url: format!("http://{addr}"),
        client: reqwest::Client::new(),
        shutdown: Some(tx),
    }
}

impl Server {
    /// `POST /api/v1/reflex/process`: the status and the body.
    pub async fn process(&self, body: serde_json::Value) -> (u16, serde_json::Value) {
        let (status, body, _) = self.post("/api/v1/reflex/process", body).await;
        (status, body)
    }

    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        self.post_with(path, body, |r| r).await
    }

    /// `post`, with the request shaped first (credentials, headers).
    pub async fn post_with(
        &self,
        path: &str,
        body: serde_json::Value,
        shape: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let res = shape(self.client.post(format!("{}{path}", self.url)))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let json = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, json, headers)
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

pub fn config() -> ReflexConfig {
    ReflexConfig::default()
}
