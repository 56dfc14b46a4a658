//! The example server on actix-web: the `fedauth-actix` middleware and
//! extractors. See `examples/README.md`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use actix_web::{App, HttpServer};
use fedauth_examples::{
    AppState, actix_app, announce, args_or_exit, init_tracing, install_metrics,
};

fn main() -> ExitCode {
    let args = args_or_exit("actix-server");
    init_tracing();
    actix_web::rt::System::new().block_on(run(args))
}

async fn run(args: fedauth_examples::Args) -> ExitCode {
    let metrics = install_metrics();
    let setup = match fedauth_examples::setup(&args).await {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("actix-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match std::net::TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("actix-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("actix-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::with_admin(setup.auth.clone(), metrics, setup.admin.clone());
    let factory_state = state.clone();
    // actix-web stops gracefully on SIGINT and SIGTERM by itself.
    let server =
        HttpServer::new(move || App::new().configure(actix_app::configure(factory_state.clone())))
            .workers(2)
            .shutdown_timeout(5)
            .listen(listener);
    let server = match server {
        Ok(server) => server.run(),
        Err(e) => {
            eprintln!("actix-server: cannot serve on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    actix_web::rt::spawn(fedauth_examples::warm_up(state, setup.ids.clone()));
    announce(addr, setup.demo.as_ref());
    let served = server.await;
    tracing::info!("shutting down");
    if let Some(demo) = &setup.demo {
        demo.idp.shutdown().await;
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actix-server: {e}");
            ExitCode::FAILURE
        }
    }
}
