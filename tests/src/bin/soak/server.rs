//! The soak driver: server.

use super::*;
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
}

pub(crate) fn server_binary(o: &Options) -> Result<PathBuf, String> {
    if let Some(path) = &o.server {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let path = exe
        .parent()
        .map(|dir| dir.join("axum-server"))
        .ok_or("no directory for the soak binary")?;
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it (`cargo build --release -p fedauth-examples --bin axum-server`) or pass --server",
            path.display()
        ))
    }
}

pub(crate) fn start_server(
    binary: &PathBuf,
    registry: &std::path::Path,
    dir: &std::path::Path,
) -> Result<Server, String> {
    let log = dir.join("axum-server.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = Command::new(binary);
    cmd.arg("--registry")
        .arg(registry)
        .args([
            "--allow-http",
            "--allow-network",
            "127.0.0.1/32",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file));
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn");
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.to_owned());
                }
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(addr) => addr,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the server printed no `listening on` line within 30 s (log: {})",
                log.display()
            ));
        }
    };
    let addr = addr
        .parse()
        .map_err(|_| format!("`listening on http://{addr}`: not an address"))?;
    Ok(Server { child, addr, log })
}

pub(crate) async fn wait_ready(addr: SocketAddr) -> Result<Duration, String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        match simple_get(addr, "/ready").await {
            Ok((200, _)) => return Ok(start.elapsed()),
            Ok((status, _)) => last = format!("status {status}"),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("GET /ready not 200 within 30 s (last: {last})"))
}

/// SIGTERM, then wait up to 20 s for the exit status.
pub(crate) fn stop_server(server: &mut Server) -> Result<Option<i32>, String> {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .map_err(|e| format!("kill -TERM {pid}: {e}"))?;
    if !sent.success() {
        return Err(format!("kill -TERM {pid} failed"));
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status.code());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    Err("the server did not exit within 20 s of SIGTERM (killed)".into())
}
