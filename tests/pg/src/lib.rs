//! A real PostgreSQL for tests.
//!
//! The server is the one named by `FEDAUTH_TEST_DATABASE_URL` (or
//! `DATABASE_URL`), or else a throwaway cluster that the first test of the
//! process starts: `initdb` in a temp dir (as the `postgres` user when run
//! as root: the server refuses to run as root), `pg_ctl start` on a free
//! 127.0.0.1 port, stopped and removed when the test process exits. Each
//! test gets a fresh database of its own.
//!
//! No PostgreSQL is a failure, never a skip: [`server_url`] panics with
//! what to install.
//!
//! A crate of its own (re-exported as `fedauth_tests::pg`) so that the
//! crates `fedauth-tests` depends on (the example servers, fedauth-admin)
//! can use it in their tests without a dependency cycle.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

/// The variable naming an existing server (a URL whose user may
/// `CREATE DATABASE`).
pub const ENV: &str = "FEDAUTH_TEST_DATABASE_URL";

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// The URL of the test server's `postgres` database. Panics, with what to
/// do, when no server can be had.
pub fn server_url() -> String {
    let server = SERVER.get_or_init(|| {
        for var in [ENV, "DATABASE_URL"] {
            if let Ok(url) = std::env::var(var) {
                if !url.trim().is_empty() {
                    return Ok(url);
                }
            }
        }
        start_cluster()
    });
    match server {
        Ok(url) => url.clone(),
        Err(why) => panic!(
            "PostgreSQL is required by these tests and none could be started: {why}.\n\
             Install Debian's `postgresql` package (scripts/test.sh does: apt-get install -y postgresql) \
             or set {ENV} to a server where the user may CREATE DATABASE."
        ),
    }
}

/// A fresh, empty database on the test server; its URL.
pub async fn fresh_database() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let admin = server_url();
    let name = format!(
        "fedauth_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    }
    let _ = conn.close().await;
    let mut url = url::Url::parse(&admin).expect("test database URL");
    url.set_path(&name);
    url.to_string()
}

/// Run SQL as the server's admin user (e.g. to kill connections).
pub async fn admin_sql(sql: &str) {
    let mut conn = sqlx::PgConnection::connect(&server_url())
        .await
        .expect("admin connection");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

fn bin_dir() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in on_path {
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    // Debian keeps the server binaries off PATH.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no initdb on PATH and no /usr/lib/postgresql".to_owned())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run a server binary, as `postgres` when we are root.
fn pg_command(bin: &Path, root: bool) -> Command {
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn start_cluster() -> Result<String, String> {
    let bin = bin_dir()?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("fedauth-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if root {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(&dir);
                c
            },
            "chown",
        )?;
    }
    let data = dir.join("data");
    let mut initdb = pg_command(&bin.join("initdb"), root);
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    run(initdb, "initdb")?;
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let mut start = pg_command(&bin.join("pg_ctl"), root);
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                dir.display()
            ))
            .arg("start")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match run(start, "pg_ctl start") {
            Ok(()) => {
                stop_when_we_exit(&bin, &data, &dir, root);
                return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
            }
            Err(e) => last = e,
        }
    }
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    Err(format!("{last}\nserver log:\n{log}"))
}

/// A watchdog process that stops the cluster and removes its directory
/// once this test process has exited (statics are never dropped).
fn stop_when_we_exit(bin: &Path, data: &Path, dir: &Path, root: bool) {
    let pg_ctl = bin.join("pg_ctl");
    let as_postgres = if root { "runuser -u postgres -- " } else { "" };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {as_postgres}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        dir = dir.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
