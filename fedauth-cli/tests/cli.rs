//! The `fedauth` binary, run as a process: `registry check` on good and
//! bad files, `import` then `export` against a real PostgreSQL, `explain`
//! on a good and an expired token, `--help` everywhere; `explain` of
//! sender-constrained requests in [`explain_binding`].

#[path = "cli/explain_binding.rs"]
mod explain_binding;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use fedauth_tests::pg::fresh_database;
use tower_fedauth::Registration;
use tower_fedauth::registry::{RegistryFormat, parse_registry_str};
use tower_fedauth::testkit::MockIdp;

const BIN: &str = env!("CARGO_BIN_EXE_fedauth");

const GOOD: &str = r#"
[[registrations]]
id = "quid-azure-1"
name = "Contoso dashboard"
provider = "azure-ad"
tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
client_id = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
roles = ["reader"]
[registrations.properties]
"property-42" = ["admin", "reader"]

[[registrations]]
id = "quid-minimal-1"
provider = "jwks"
client_id = "app-2"
jwks_uri = "https://idp.example.com/keys"
require_known_user = true

[[registrations]]
id = "quid-opaque-1"
provider = "introspection"
client_id = "app-3"
[registrations.introspection]
endpoint = "https://idp.example.com/token/introspection"
client_id = "resource-server"
client_secret = "s3cret"
"#;

const BAD: &str = r#"
[[registrations]]
id = "quid-ok"
provider = "jwks"
client_id = "app-2"
jwks_uri = "https://idp.example.com/keys"

[[registrations]]
id = "quid-hs"
provider = "jwks"
client_id = "app-2"
jwks_uri = "https://idp.example.com/keys"
algorithms = ["HS256"]

[[registrations]]
id = "quid-typo"
provider = "jwks"
client_id = "app-2"
jwks_url = "https://idp.example.com/keys"

[[registrations]]
id = "quid-ok"
provider = "auth0"
client_id = "x"
domain = "acme.eu.auth0.com"
"#;

/// A temp file removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(ext: &str, content: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "fedauth-cli-{}-{}.{ext}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, content).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn fedauth(args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run fedauth");
    to_run(out)
}

/// Run off the async threads (a mock IdP in this process must answer).
async fn fedauth_async(args: Vec<String>, stdin: Option<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run fedauth");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        to_run(child.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

#[test]
fn help_for_every_command_and_usage_errors() {
    for args in [
        &["--help"][..],
        &["help"],
        &["registry", "--help"],
        &["registry", "check", "--help"],
        &["registry", "import", "--help"],
        &["registry", "export", "--help"],
        &["explain", "--help"],
        &["help", "explain"],
    ] {
        let r = fedauth(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stdout.contains("Usage:"), "{args:?}: {}", r.stdout);
    }
    for args in [
        &["bogus"][..],
        &["registry", "frobnicate"],
        &["registry", "check"],
        &["registry", "check", "--bogus", "x.toml"],
        &["registry", "import", "x.toml"],
        &["explain", "--registry", "x.toml"],
    ] {
        let r = fedauth(args);
        assert_eq!(r.code, 2, "{args:?}: {} {}", r.stdout, r.stderr);
        assert!(r.stderr.contains("--help"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn check_accepts_good_files_and_lists_every_problem_of_bad_ones() {
    let good = Temp::new("toml", GOOD);
    let r = fedauth(&["registry", "check", good.path()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("ok, 3 registrations"), "{}", r.stdout);

    let json = Temp::new("json", r#"{"registrations": []}"#);
    let r = fedauth(&["registry", "check", good.path(), json.path()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("ok, 0 registrations"), "{}", r.stdout);

    let bad = Temp::new("toml", BAD);
    let r = fedauth(&["registry", "check", good.path(), bad.path()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let errors: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 3, "{}", r.stdout);
    for (line, (index, id, field)) in errors.iter().zip([
        (1, "quid-hs", "algorithms"),
        (2, "quid-typo", "jwks_url"),
        (3, "quid-ok", "id"),
    ]) {
        assert!(line.contains(bad.path()), "{line}");
        assert!(line.contains(&format!("registrations[{index}]")), "{line}");
        assert!(line.contains(&format!("registration \"{id}\"")), "{line}");
        assert!(line.contains(&format!("field \"{field}\"")), "{line}");
    }
    assert!(r.stdout.contains("3 problems"), "{}", r.stdout);

    let syntax = Temp::new("toml", "[[registrations]\nid = 1");
    let r = fedauth(&["registry", "check", syntax.path()]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("syntax error at line 1"), "{}", r.stdout);
    let r = fedauth(&["registry", "check", "/nonexistent/registry.toml"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("cannot read"), "{}", r.stdout);
}

fn sorted(text: &str, format: RegistryFormat) -> Vec<Registration> {
    let mut regs = parse_registry_str(text, format).expect("exported file loads");
    regs.sort_by(|a, b| a.id.cmp(&b.id));
    regs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_then_export_round_trips() {
    let url = fresh_database().await;
    let good = Temp::new("toml", GOOD);
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let r = fedauth_async(
        args(&["registry", "import", good.path(), "--database-url", &url]),
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("imported 3 registrations"),
        "{}",
        r.stdout
    );

    let out_json = Temp::new("json", "");
    let out_toml = Temp::new("toml", "");
    for out in [&out_json, &out_toml] {
        let r = fedauth_async(
            args(&["registry", "export", out.path(), "--database-url", &url]),
            None,
        )
        .await;
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let original = sorted(GOOD, RegistryFormat::Toml);
    let json = std::fs::read_to_string(out_json.path()).unwrap();
    assert_eq!(sorted(&json, RegistryFormat::Json), original);
    let toml = std::fs::read_to_string(out_toml.path()).unwrap();
    assert_eq!(sorted(&toml, RegistryFormat::Toml), original);
    assert!(json.contains("s3cret"), "the export keeps what was written");

    // A bad file imports nothing.
    let bad = Temp::new("toml", BAD);
    let r = fedauth_async(
        args(&["registry", "import", bad.path(), "--database-url", &url]),
        None,
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("quid-hs") && r.stderr.contains("nothing imported"),
        "{}",
        r.stderr
    );
    let r = fedauth_async(
        args(&["registry", "export", "-", "--database-url", &url]),
        None,
    )
    .await;
    assert_eq!(sorted(&r.stdout, RegistryFormat::Json).len(), 3);

    // --replace drops what the file does not name.
    let one = Temp::new(
        "json",
        r#"{"registrations": [{"id": "quid-new", "provider": "jwks", "client_id": "c", "jwks_uri": "https://i.example/k"}]}"#,
    );
    let r = fedauth_async(
        args(&[
            "registry",
            "import",
            one.path(),
            "--replace",
            "--database-url",
            &url,
        ]),
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("imported 1 registrations, deleted 3"),
        "{}",
        r.stdout
    );
    let r = fedauth_async(
        args(&["registry", "export", "-", "--database-url", &url]),
        None,
    )
    .await;
    let now = sorted(&r.stdout, RegistryFormat::Json);
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].id.as_str(), "quid-new");

    let r = fedauth_async(
        args(&[
            "registry",
            "export",
            "-",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/x",
        ]),
        None,
    )
    .await;
    assert_eq!(r.code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_each_check_and_never_the_signature() {
    let idp = MockIdp::start().await;
    let registry = Temp::new(
        "toml",
        &format!(
            "[[registrations]]\nid = \"quid-1\"\nprovider = \"jwks\"\nclient_id = \"{}\"\nissuer = \"{}\"\njwks_uri = \"{}\"\nroles = [\"reader\"]\n",
            idp.client_id(),
            idp.issuer(),
            idp.jwks_uri()
        ),
    );
    let base = |token: &str| {
        vec![
            "explain".to_owned(),
            "--registry".into(),
            registry.path().into(),
            "--registration".into(),
            "quid-1".into(),
            "--allow-http".into(),
            "--allow-network".into(),
            "127.0.0.1/32".into(),
            "--token".into(),
            token.into(),
        ]
    };

    let good = idp.mint();
    let signature = good.rsplit('.').next().unwrap().to_owned();
    let r = fedauth_async(base(&good), None).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for step in [
        "header",
        "registration",
        "algorithm",
        "key",
        "signature",
        "issuer",
        "audience",
        "time",
        "roles",
    ] {
        assert!(
            r.stdout.contains(&format!("PASS  {step}")),
            "{step}:\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout
            .contains("result: accepted, subject alice, roles [reader]"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(&signature) && !r.stderr.contains(&signature));

    let expired = idp.token().expires_in(-3600).sign(&idp.signing_key());
    let signature = expired.rsplit('.').next().unwrap().to_owned();
    // The token on stdin, as the help recommends.
    let r = fedauth_async(base("-"), Some(format!("Bearer {expired}\n"))).await;
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("PASS  signature"), "{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL  time            token_expired"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(" --   claims          not reached"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("result: refused, HTTP 401, code token_expired"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(&signature) && !r.stderr.contains(&signature));

    let r = fedauth_async(
        vec![
            "explain".into(),
            "--registry".into(),
            registry.path().into(),
            "--registration".into(),
            "quid-unknown".into(),
            "--token".into(),
            good,
        ],
        None,
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("FAIL  registration    unknown_registration"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_egress_refusal_that_the_caller_never_sees() {
    let idp = MockIdp::start().await;
    let registry = Temp::new(
        "toml",
        &format!(
            "[[registrations]]\nid = \"quid-1\"\nprovider = \"jwks\"\nclient_id = \"{}\"\nissuer = \"{}\"\njwks_uri = \"{}\"\n",
            idp.client_id(),
            idp.issuer(),
            idp.jwks_uri().replace("127.0.0.1", "localhost")
        ),
    );
    let token = idp.mint();
    let args = |network: Option<&str>| match network {
        Some(network) => explain_args(&registry, "quid-1", &token, &["--allow-network", network]),
        None => explain_args(&registry, "quid-1", &token, &[]),
    };
    let r = fedauth_async(args(None), None).await;
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("FAIL  key             idp_unavailable"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("refused by the egress policy")
            && r.stdout.contains("localhost is a loopback address"),
        "explain names what the request met:\n{}",
        r.stdout
    );
    assert_eq!(idp.jwks_fetches(), 0, "the IdP saw a request");
    let r = fedauth_async(args(Some("127.0.0.0/8")), None).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(idp.jwks_fetches(), 1);
    let r = fedauth_async(args(Some("not a network")), None).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--allow-network: \"not a network\" is not a CIDR"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_audience_party_required_claims_and_scopes_that_matched() {
    let idp = MockIdp::start().await;
    let registry = Temp::new(
        "toml",
        &format!(
            "[[registrations]]\nid = \"quid-api\"\nprovider = \"jwks\"\nclient_id = \"{}\"\nissuer = \"{}\"\njwks_uri = \"{}\"\n\
             audiences = [\"https://api.platform.example\"]\nrequired_claims = {{ email_verified = true }}\n",
            idp.client_id(),
            idp.issuer(),
            idp.jwks_uri()
        ),
    );
    let token = idp
        .token()
        .claim("aud", "https://api.platform.example")
        .claim("azp", idp.client_id())
        .claim("email_verified", true)
        .claim("scope", "read")
        .sign(&idp.signing_key());
    let args = |scopes: &[&str]| {
        let mut extra = vec!["--allow-network", "127.0.0.1/32"];
        scopes
            .iter()
            .for_each(|scope| extra.extend(["--scope", scope]));
        explain_args(&registry, "quid-api", &token, &extra)
    };
    let r = fedauth_async(args(&["read"]), None).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let audience = format!(
        "PASS  audience        names the API https://api.platform.example; authorized party `azp` is the client {}",
        idp.client_id()
    );
    for line in [
        audience.as_str(),
        "PASS  claims          subject alice; required claims met: email_verified",
        "PASS  scope           read granted",
    ] {
        assert!(r.stdout.contains(line), "no `{line}` in\n{}", r.stdout);
    }
    let r = fedauth_async(args(&["read", "write"]), None).await;
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("FAIL  scope           insufficient_scope:"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("result: refused, HTTP 403, code insufficient_scope"),
        "{}",
        r.stdout
    );
}

/// `fedauth explain` for `registration` and `token` in `registry`, plain
/// http allowed (the mock IdP), then `extra`.
fn explain_args(registry: &Temp, registration: &str, token: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "explain",
        "--registry",
        registry.path(),
        "--registration",
        registration,
        "--allow-http",
        "--token",
        token,
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}
