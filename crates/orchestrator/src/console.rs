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
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::ContentBuilder;
use utoipa::PartialSchema;
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

const ASSETS: &[Asset] = &[
    Asset {
        path: "/ui/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../console/index.html"),
    },
    Asset {
        path: "/ui/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/app.js"),
    },
    Asset {
        path: "/ui/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../console/app.css"),
    },
    Asset {
        path: "/ui/api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/api.js"),
    },
    Asset {
        path: "/ui/dom.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/dom.js"),
    },
    Asset {
        path: "/ui/tasks.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/tasks.js"),
    },
    Asset {
        path: "/ui/task.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/task.js"),
    },
    Asset {
        path: "/ui/dag.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/dag.js"),
    },
    Asset {
        path: "/ui/pages.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../console/pages.js"),
    },
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
    let mut response = ResponseBuilder::new().description(description);
    if let Some(ct) = content_type {
        response = response.content(
            ct,
            ContentBuilder::new().schema(Some(String::schema())).build(),
        );
    }
    let op = OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(description))
        .tag("console")
        .responses(
            ResponsesBuilder::new()
                .response(status, response.build())
                .build(),
        )
        .build();
    router
        .get_openapi_mut()
        .paths
        .add_path_operation(path, vec![HttpMethod::Get], op);
}

fn serve(asset: &Asset) -> Response {
    octollm_server::page::static_file(asset.content_type, CONTENT_SECURITY_POLICY, asset.body)
}
