//! Both opaque kinds through the axum and actix-web adapters: the same
//! acceptances, the same JSON refusals and the same pass-through answers.

use std::net::SocketAddr;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use tower_fedauth::Authenticator;
use tower_fedauth::testkit::{MockAnswer, MockOpaqueIdp};

use super::{introspection_toml, now, verification_toml};

async fn serve_axum(auth: Authenticator) -> SocketAddr {
    use fedauth_axum::{Auth, FedAuthLayer};
    let router = axum::Router::new()
        .route(
            "/me",
            axum::routing::get(|Auth(ctx): Auth| async move {
                axum::Json(json!({"subject": ctx.subject()}))
            }),
        )
        .route_layer(FedAuthLayer::new(auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// actix-web on its own thread and `System`.
fn serve_actix(auth: Authenticator) -> (SocketAddr, actix_web::dev::ServerHandle) {
    use fedauth_actix::{Auth, FedAuth};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new().service(web::resource("/me").wrap(FedAuth::new(auth.clone())).route(
                    web::get().to(|ctx: Auth| async move {
                        HttpResponse::Ok().json(json!({"subject": ctx.subject()}))
                    }),
                ))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)
            .unwrap()
            .run();
            tx.send(server.handle()).unwrap();
            server.await
        })
    });
    (addr, rx.recv().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_kinds_work_alike_on_axum_and_actix() {
    let idp = MockOpaqueIdp::start().await;
    let toml =
        introspection_toml(&idp, "quid-i", "", "") + &verification_toml(&idp, "quid-v", "GET", "");
    idp.set_introspection(
        "opaque-1",
        json!({"active": true, "sub": "alice", "client_id": "app-3", "exp": now() + 300}),
    );
    let refusal = MockAnswer::raw(403, Some("text/plain; charset=utf-8"), "denied by IdP\n");
    idp.set_verification_answer_for("denied", refusal.clone());

    let axum_addr = serve_axum(fedauth_tests::builder(&toml).build()).await;
    let (actix_addr, actix_server) = serve_actix(fedauth_tests::builder(&toml).build());
    let client = reqwest::Client::new();
    for (framework, addr) in [("axum", axum_addr), ("actix", actix_addr)] {
        let get = |token: &str, quid: &str| {
            client
                .get(format!("http://{addr}/me"))
                .header("authorization", format!("Bearer {token}"))
                .header("x-sc-auth", quid)
                .send()
        };
        let ok = get("opaque-1", "quid-i").await.unwrap();
        assert_eq!(ok.status(), 200, "{framework}");
        assert_eq!(
            ok.json::<serde_json::Value>().await.unwrap(),
            json!({"subject": "alice"})
        );

        let ok = get("8b75a6c7", "quid-v").await.unwrap();
        assert_eq!(ok.status(), 200, "{framework}");
        assert_eq!(
            ok.json::<serde_json::Value>().await.unwrap(),
            json!({"subject": "4324"})
        );

        let inactive = get("unknown", "quid-i").await.unwrap();
        assert_eq!(inactive.status(), 401, "{framework}");
        assert_eq!(inactive.headers()["content-type"], "application/json");
        let body: serde_json::Value = inactive.json().await.unwrap();
        assert_eq!(body["code"], "inactive_token", "{framework}");

        let denied = get("denied", "quid-v").await.unwrap();
        assert_eq!(denied.status(), 403, "{framework}");
        assert_eq!(
            denied.headers()["content-type"],
            "text/plain; charset=utf-8",
            "{framework}"
        );
        assert_eq!(
            denied.headers()["www-authenticate"],
            "Bearer realm=\"fedauth\"",
            "{framework}"
        );
        assert_eq!(denied.bytes().await.unwrap(), refusal.body, "{framework}");
    }
    actix_server.stop(true).await;
}
