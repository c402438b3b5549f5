//! `action_type: "http"`: the executor fetches a URL itself, for a sandbox
//! that has no network. Every hop (redirects included) is checked: scheme,
//! host allowlist, and — after DNS resolution, inside the resolver reqwest
//! connects through, so a rebinding answer cannot slip past — the address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use octollm_policy::HostList;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, StatusCode, Url};

use crate::config::ExecutorConfig;

/// Why a fetch was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpDenial {
    #[error("{0}")]
    Invalid(String),
    #[error("Method '{0}' is not allowed; use GET or HEAD")]
    Method(String),
    #[error("Scheme '{0}' is not allowed; only {1} URLs may be fetched")]
    Scheme(String, &'static str),
    #[error("Host '{0}' is not in the HTTP allowlist")]
    Host(String),
    /// Allowed by the executor, but not by the hosts the task narrowed its
    /// token to.
    #[error("Host '{0}' is not among the hosts this task may reach ({1})")]
    TaskHost(String, String),
    #[error("Host '{0}' resolves to a loopback, private or link-local address, which is refused")]
    Address(String),
    #[error("Too many redirects (more than {0})")]
    Redirects(u64),
    #[error("The HTTP request timed out")]
    Timeout,
    #[error("The HTTP request failed: {0}")]
    Failed(String),
}

impl HttpDenial {
    pub fn code(&self) -> &'static str {
        match self {
            HttpDenial::Invalid(_) => "INVALID_URL",
            HttpDenial::Method(_) => "METHOD_NOT_ALLOWED",
            HttpDenial::Scheme(..) => "SCHEME_NOT_ALLOWED",
            HttpDenial::Host(_) | HttpDenial::TaskHost(..) => "HOST_NOT_ALLOWED",
            HttpDenial::Address(_) => "ADDRESS_NOT_ALLOWED",
            HttpDenial::Redirects(_) => "TOO_MANY_REDIRECTS",
            HttpDenial::Timeout => "TIMEOUT",
            HttpDenial::Failed(_) => "HTTP_ERROR",
        }
    }

    /// 403 for policy refusals, 408 for timeouts, 422 for bad input, 502 otherwise.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode as S;
        match self {
            HttpDenial::Invalid(_) => S::UNPROCESSABLE_ENTITY,
            HttpDenial::Method(_)
            | HttpDenial::Scheme(..)
            | HttpDenial::Host(_)
            | HttpDenial::TaskHost(..)
            | HttpDenial::Address(_) => S::FORBIDDEN,
            HttpDenial::Timeout => S::REQUEST_TIMEOUT,
            HttpDenial::Redirects(_) | HttpDenial::Failed(_) => S::BAD_GATEWAY,
        }
    }
}

/// A completed fetch.
#[derive(Debug)]
pub struct HttpResult {
    pub status: u16,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub final_url: String,
}

/// The two host lists: which hosts may be fetched at all, and which of
/// those may resolve to internal addresses.
#[derive(Debug, Clone)]
struct HostPolicy {
    allowed: HostList,
    private_ok: HostList,
}

/// Loopback, private, link-local, CGNAT, multicast, unspecified, reserved.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                // NAT64 and v4-compatible forms embed an IPv4 address.
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || (s[0..6] == [0, 0, 0, 0, 0, 0])
        }
    }
}

/// Refusal raised from inside the resolver, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("address of {0} is internal")]
struct InternalAddress(String);

struct GuardedResolver {
    policy: Arc<HostPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.private_ok.allows(&host) && addrs.iter().any(|a| is_internal(a.ip())) {
                return Err(
                    Box::new(InternalAddress(host)) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The fetcher: one client, built once.
pub struct HttpFetcher {
    client: reqwest::Client,
    policy: Arc<HostPolicy>,
    allow_http: bool,
    max_bytes: u64,
    timeout: Duration,
    max_redirects: u64,
}

impl HttpFetcher {
    pub fn new(cfg: &ExecutorConfig) -> Result<HttpFetcher, String> {
        let policy = Arc::new(HostPolicy {
            allowed: HostList::new(&cfg.http_allowed_hosts),
            private_ok: HostList::new(&cfg.http_private_hosts),
        });
        let timeout = Duration::from_secs_f64(cfg.http_timeout_seconds.clamp(0.1, 600.0));
        let mut builder = reqwest::Client::builder()
            // Redirects are followed by hand, so each hop is re-checked.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would bypass the address checks.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .timeout(timeout)
            .user_agent(concat!("octollm-executor/", env!("CARGO_PKG_VERSION")));
        if !cfg.http_extra_root_ca_pem.is_empty() {
            let pem = std::fs::read(&cfg.http_extra_root_ca_pem)
                .map_err(|e| format!("reading {}: {e}", cfg.http_extra_root_ca_pem))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("parsing {}: {e}", cfg.http_extra_root_ca_pem))?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(HttpFetcher {
            client,
            policy,
            allow_http: cfg.allow_http,
            max_bytes: cfg.http_max_response_bytes,
            timeout,
            max_redirects: cfg.http_max_redirects,
        })
    }

    pub fn allowed_hosts(&self) -> &HostList {
        &self.policy.allowed
    }

    /// Checks one URL against scheme, host and literal-address rules, and
    /// against the task's narrowed hosts when its token carries them.
    fn check(&self, url: &Url, narrowed: Option<&HostList>) -> Result<(), HttpDenial> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(HttpDenial::Scheme(
                    other.to_string(),
                    if self.allow_http { "http(s)" } else { "https" },
                ))
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(HttpDenial::Invalid(
                "URLs with credentials are not accepted".into(),
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(HttpDenial::Invalid("URL has no host".into())),
        };
        if !self.policy.allowed.allows(&host) {
            return Err(HttpDenial::Host(host));
        }
        if let Some(task) = narrowed {
            if !task.allows(&host) {
                return Err(HttpDenial::TaskHost(host, task.describe()));
            }
        }
        // Literal addresses never reach the resolver: check them here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            if is_internal(ip) && !self.policy.private_ok.allows(&host) {
                return Err(HttpDenial::Address(host));
            }
        }
        Ok(())
    }

    /// Fetches `url`, every redirect hop checked as the first request is;
    /// `narrowed` is the task's own host list, from its token.
    pub async fn fetch(
        &self,
        method: &str,
        url: &str,
        narrowed: Option<&HostList>,
    ) -> Result<HttpResult, HttpDenial> {
        let method = match method.to_ascii_uppercase().as_str() {
            "GET" | "" => Method::GET,
            "HEAD" => Method::HEAD,
            other => return Err(HttpDenial::Method(other.to_string())),
        };
        let mut url =
            Url::parse(url).map_err(|e| HttpDenial::Invalid(format!("Invalid URL: {e}")))?;
        let fut = async {
            let mut hops = 0u64;
            loop {
                self.check(&url, narrowed)?;
                let res = self
                    .client
                    .request(method.clone(), url.clone())
                    .send()
                    .await
                    .map_err(|e| classify(&url, e))?;
                if res.status().is_redirection() {
                    let Some(loc) = res.headers().get(reqwest::header::LOCATION) else {
                        return read_body(res, self.max_bytes, &url).await;
                    };
                    hops += 1;
                    if hops > self.max_redirects {
                        return Err(HttpDenial::Redirects(self.max_redirects));
                    }
                    let loc = loc
                        .to_str()
                        .map_err(|_| HttpDenial::Failed("redirect Location is not text".into()))?;
                    url = url
                        .join(loc)
                        .map_err(|e| HttpDenial::Failed(format!("bad redirect Location: {e}")))?;
                    continue;
                }
                return read_body(res, self.max_bytes, &url).await;
            }
        };
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| HttpDenial::Timeout)?
    }
}

async fn read_body(
    mut res: reqwest::Response,
    max: u64,
    url: &Url,
) -> Result<HttpResult, HttpDenial> {
    let status: StatusCode = res.status();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = res.chunk().await.map_err(|e| classify(url, e))? {
        let room = (max as usize).saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            // Stop reading: the cap bounds what we download, not only what we keep.
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResult {
        status: status.as_u16(),
        body,
        truncated,
        final_url: url.to_string(),
    })
}

fn classify(url: &Url, e: reqwest::Error) -> HttpDenial {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(InternalAddress(host)) = s.downcast_ref::<InternalAddress>() {
            return HttpDenial::Address(host.clone());
        }
        source = s.source();
    }
    if e.is_timeout() {
        return HttpDenial::Timeout;
    }
    let _ = url;
    HttpDenial::Failed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    fn fetcher(allowed: &[&str], private_ok: &[&str]) -> HttpFetcher {
        let cfg = ExecutorConfig {
            http_allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(),
            http_private_hosts: private_ok.iter().map(|s| s.to_string()).collect(),
            ..ExecutorConfig::default()
        };
        HttpFetcher::new(&cfg).unwrap()
    }

    fn check(f: &HttpFetcher, url: &str) -> Result<(), &'static str> {
        f.check(&Url::parse(url).unwrap(), None)
            .map_err(|e| e.code())
    }

    #[tokio::test]
    async fn a_task_narrowed_list_applies_on_top_of_the_executors() {
        let f = fetcher(&["example.com", "*.docs.rs"], &[]);
        let task = HostList::new(["a.docs.rs"]);
        let narrowed = |url: &str| f.check(&Url::parse(url).unwrap(), Some(&task));
        assert!(narrowed("https://a.docs.rs/x").is_ok());
        // Allowed by the executor, not by the task.
        let e = narrowed("https://example.com/").unwrap_err();
        assert_eq!(e.code(), "HOST_NOT_ALLOWED");
        assert!(
            e.to_string().contains("this task may reach (a.docs.rs)"),
            "{e}"
        );
        // A task cannot widen the executor's list.
        let wide = HostList::new(["other.org"]);
        let e = f
            .check(&Url::parse("https://other.org/").unwrap(), Some(&wide))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Host 'other.org' is not in the HTTP allowlist"
        );
    }

    #[tokio::test]
    async fn host_patterns() {
        let f = fetcher(&["example.com", "*.docs.rs"], &[]);
        assert_eq!(check(&f, "https://example.com/"), Ok(()));
        assert_eq!(check(&f, "https://EXAMPLE.com./x"), Ok(()));
        assert_eq!(
            check(&f, "https://evil-example.com/"),
            Err("HOST_NOT_ALLOWED")
        );
        assert_eq!(check(&f, "https://a.docs.rs/"), Ok(()));
        assert_eq!(check(&f, "https://docs.rs/"), Err("HOST_NOT_ALLOWED"));
        assert_eq!(check(&f, "https://xdocs.rs/"), Err("HOST_NOT_ALLOWED"));
    }

    #[tokio::test]
    async fn addresses_match_only_when_listed_and_stay_ssrf_guarded() {
        let f = fetcher(
            &["*.0.0.1", "93.184.216.34", "10.0.0.5", "[::1]"],
            &["[::1]"],
        );
        assert_eq!(check(&f, "https://127.0.0.1/"), Err("HOST_NOT_ALLOWED"));
        assert_eq!(check(&f, "https://93.184.216.34/"), Ok(()));
        assert_eq!(check(&f, "https://93.184.216.35/"), Err("HOST_NOT_ALLOWED"));
        // Listed, but internal and not a private host: the SSRF guard refuses.
        assert_eq!(check(&f, "https://10.0.0.5/"), Err("ADDRESS_NOT_ALLOWED"));
        assert_eq!(check(&f, "https://[::1]/"), Ok(()));
        assert_eq!(
            check(&f, "http://93.184.216.34/"),
            Err("SCHEME_NOT_ALLOWED")
        );
    }
}
