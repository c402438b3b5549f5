//! The web console at `/ui/`: a few static files built into the binary.
//!
//! Nothing is fetched from elsewhere at run time (many servers have no
//! internet access), and there is no build step: the files under
//! `console/` are served as they are. The page talks only to this
//! service's own API with the key the user typed in, which it keeps in the
//! tab's session storage.
//!
//! A step's output is hostile text. The script only ever puts values into
//! the page as text (never as markup), and the Content-Security-Policy
//! below forbids inline scripts, inline styles and every other origin, so
//! markup that slipped through anyway could not run.

use axum::response::{Redirect, Response};
use axum::routing::get;
use utoipa::openapi::path::HttpMethod;
use utoipa_axum::router::OpenApiRouter;

/// Same origin only; no inline code, no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file of the console.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The file `console/NAME`, served at `/ui/NAME`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            path: concat!("/ui/", $name),
            content_type: $content_type,
            body: include_bytes!(concat!("../console/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    // The page itself answers at the directory.
    Asset {
        path: "/ui/",
        content_type: HTML,
        body: include_bytes!("../console/index.html"),
    },
    asset!("app.js", JS),
    asset!("app.css", CSS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("tasks.js", JS),
    asset!("task.js", JS),
    asset!("dag.js", JS),
    asset!("pages.js", JS),
];

/// The console's routes (public: the files hold no data; every API call
/// they make carries the user's key), each with its entry in the OpenAPI
/// document.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    let mut router =
        OpenApiRouter::new().route("/ui", get(|| async { Redirect::permanent("/ui/") }));
    document(
        &mut router,
        "/ui",
        "console_redirect",
        "308",
        "Redirects to /ui/",
        None,
    );
    for asset in ASSETS {
        router = router.route(asset.path, get(move || async move { serve(asset) }));
        let id = format!(
            "console_{}",
            asset.path.trim_start_matches("/ui/").replace('.', "_")
        );
        let id = if id == "console_" {
            "console".to_string()
        } else {
            id
        };
        document(
            &mut router,
            asset.path,
            &id,
            "200",
            "A file of the web console",
            Some(asset.content_type),
        );
    }
    router
}

fn document<S: Clone + Send + Sync + 'static>(
    router: &mut OpenApiRouter<S>,
    path: &str,
    id: &str,
    status: &str,
    description: &str,
    content_type: Option<&str>,
) {
    let op = octollm_server::openapi::plain_get(id, "console", description, status, content_type);
    router
        .get_openapi_mut()
        .paths
        .add_path_operation(path, vec![HttpMethod::Get], op);
}

fn serve(asset: &Asset) -> Response {
    octollm_server::page::static_file(asset.content_type, CONTENT_SECURITY_POLICY, asset.body)
}
