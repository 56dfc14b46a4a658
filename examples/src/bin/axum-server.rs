//! The example server on axum: `tower_fedauth::FedAuthLayer` and the
//! `fedauth-axum` extractors. See `examples/README.md`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use fedauth_examples::{AppState, announce, args_or_exit, axum_app, init_tracing, install_metrics};

fn main() -> ExitCode {
    let args = args_or_exit("axum-server");
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("axum-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: fedauth_examples::Args) -> ExitCode {
    let metrics = install_metrics();
    let setup = match fedauth_examples::setup(&args).await {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("axum-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("axum-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("axum-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::with_admin(setup.auth.clone(), metrics, setup.admin.clone());
    tokio::spawn(fedauth_examples::warm_up(state.clone(), setup.ids.clone()));
    announce(addr, setup.demo.as_ref());
    let served = axum::serve(listener, axum_app::router(state))
        .with_graceful_shutdown(fedauth_examples::shutdown_signal())
        .await;
    if let Some(demo) = &setup.demo {
        demo.idp.shutdown().await;
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum-server: {e}");
            ExitCode::FAILURE
        }
    }
}
