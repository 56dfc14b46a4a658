//! The servers' command line (the same for both; `examples/README.md`).

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::HeaderName;
use tower_fedauth::egress::EgressPolicy;
use url::Url;

use crate::DEFAULT_LISTEN;

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `--registry PATH`: a `.toml` or `.json` registry; `None` (and no
    /// `--database-url`) is demo mode.
    pub registry: Option<PathBuf>,
    /// `--database-url URL`: the PostgreSQL registry instead of a file.
    pub database_url: Option<String>,
    /// `--listen ADDR`.
    pub listen: SocketAddr,
    /// `--allow-http`: fetch `http://` IdP URLs too.
    pub allow_http: bool,
    /// `--allow-network CIDR` (repeatable): outgoing requests may also go
    /// to these networks (or exact host names), beyond public unicast.
    pub allow_network: Vec<String>,
    /// `--client-cert-header NAME`: where a trusted TLS-terminating proxy
    /// passes the client certificate (URL-encoded PEM), for
    /// certificate-bound tokens. Without it no header is trusted for that.
    pub client_cert_header: Option<HeaderName>,
    /// `--public-url URL`: the server's external base URL, against which a
    /// DPoP proof's `htu` is compared (no trailing slash). Without it:
    /// `http://{Host}`.
    pub public_url: Option<Url>,
    /// `--admin-token TOKEN`: serve the admin API; this bearer token is a
    /// platform admin.
    pub admin_token: Option<String>,
    /// `--property-admin PROPERTY=TOKEN` (repeatable): this bearer token
    /// administers that property only.
    pub property_admins: Vec<(String, String)>,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            registry: None,
            database_url: None,
            listen: DEFAULT_LISTEN.parse().expect("default address"),
            allow_http: false,
            allow_network: Vec::new(),
            client_cert_header: None,
            public_url: None,
            admin_token: None,
            property_admins: Vec::new(),
        }
    }
}

impl Args {
    /// The egress policy of the command line.
    pub fn egress(&self) -> EgressPolicy {
        self.allow_network.iter().fold(
            EgressPolicy::new().allow_http(self.allow_http),
            |policy, entry| {
                // Checked when parsed.
                policy.clone().allow(entry).unwrap_or(policy)
            },
        )
    }
}

/// The usage text of `bin`.
pub fn usage(bin: &str) -> String {
    format!(
        "usage: {bin} [--registry PATH | --database-url URL] [--listen ADDR] [--allow-http]\n\
         \x20      [--allow-network CIDR]... [--client-cert-header NAME] [--public-url URL]\n\
         \x20      [--admin-token TOKEN] [--property-admin PROPERTY=TOKEN]...\n\
         \n\
         \x20 --registry PATH  registry file (.toml or .json); without it: demo mode with a local test IdP\n\
         \x20 --database-url URL\n\
         \x20                  PostgreSQL registry instead of a file (changes reach every instance by NOTIFY)\n\
         \x20 --listen ADDR    address to serve on (default {DEFAULT_LISTEN}; port 0 picks a free one)\n\
         \x20 --allow-http     accept http:// JWKS, discovery, userinfo, introspection and verification URLs\n\
         \x20 --allow-network CIDR\n\
         \x20                  also fetch from this network or exact host name (repeatable); without it only\n\
         \x20                  public unicast addresses are fetched: a local test IdP needs 127.0.0.0/8\n\
         \x20 --client-cert-header NAME\n\
         \x20                  header in which a trusted TLS-terminating proxy passes the client certificate\n\
         \x20                  (URL-encoded PEM, as nginx's $ssl_client_escaped_cert)\n\
         \x20 --public-url URL the server's external base URL, for DPoP proofs' htu (default http://{{Host}})\n\
         \x20 --admin-token TOKEN\n\
         \x20                  serve the admin API at /admin/v1; this bearer token is a platform admin\n\
         \x20 --property-admin PROPERTY=TOKEN\n\
         \x20                  this bearer token administers PROPERTY on the admin API (repeatable)\n\
         \x20 -h, --help       print this help\n\
         \n\
         RUST_LOG sets the log level (logs go to stderr).\n"
    )
}

/// Parse the arguments after the program name: `Ok(None)` asks for help.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--registry" => parsed.registry = Some(PathBuf::from(value("--registry")?)),
            "--database-url" => parsed.database_url = Some(value("--database-url")?),
            "--listen" => {
                let v = value("--listen")?;
                parsed.listen = v.parse().map_err(|_| {
                    format!("--listen: `{v}` is not an address like 127.0.0.1:8080")
                })?;
            }
            "--allow-http" if inline.is_none() => parsed.allow_http = true,
            "--allow-network" => {
                let v = value("--allow-network")?;
                EgressPolicy::new()
                    .allow(&v)
                    .map_err(|e| format!("--allow-network: {e}"))?;
                parsed.allow_network.push(v);
            }
            "--client-cert-header" => {
                let v = value("--client-cert-header")?;
                let name = HeaderName::try_from(v.as_str())
                    .map_err(|_| format!("--client-cert-header: `{v}` is not a header name"))?;
                parsed.client_cert_header = Some(name);
            }
            "--public-url" => parsed.public_url = Some(public_url(&value("--public-url")?)?),
            "--admin-token" => parsed.admin_token = Some(secret("--admin-token", value)?),
            "--property-admin" => {
                let v = value("--property-admin")?;
                match v.split_once('=') {
                    Some((property, token)) if !property.is_empty() && !token.is_empty() => {
                        parsed
                            .property_admins
                            .push((property.to_owned(), token.to_owned()));
                    }
                    _ => return Err("--property-admin: expected PROPERTY=TOKEN".to_owned()),
                }
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    if parsed.registry.is_some() && parsed.database_url.is_some() {
        return Err("--registry and --database-url are exclusive".to_owned());
    }
    if !parsed.property_admins.is_empty() && parsed.admin_token.is_none() {
        return Err("--property-admin needs --admin-token (the admin API is off)".to_owned());
    }
    Ok(Some(parsed))
}

/// A non-empty secret value; the error never repeats it.
fn secret(
    name: &str,
    mut value: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let v = value(name)?;
    match v.is_empty() {
        true => Err(format!("{name} must not be empty")),
        false => Ok(v),
    }
}

/// An `http(s)` base URL without query or fragment, trailing `/` removed.
fn public_url(v: &str) -> Result<Url, String> {
    let bad =
        || format!("--public-url: `{v}` is not an http(s) base URL without query or fragment");
    let url = Url::parse(v.trim_end_matches('/')).map_err(|_| bad())?;
    let base = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none();
    base.then_some(url).ok_or_else(bad)
}

/// The command line of this process; on a bad one, the usage on stderr and
/// exit status 2; on `--help`, the usage on stdout and exit status 0.
pub fn args_or_exit(bin: &str) -> Args {
    match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{}", usage(bin));
            std::process::exit(0);
        }
        Err(e) => {
            eprint!("{bin}: {e}\n\n{}", usage(bin));
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn command_line() {
        assert_eq!(parse(&[]).unwrap().unwrap(), Args::default());
        assert_eq!(
            Args::default().listen,
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        let all = parse(&[
            "--registry",
            "r.toml",
            "--listen=127.0.0.1:0",
            "--allow-http",
            "--allow-network",
            "127.0.0.0/8",
            "--allow-network=idp.corp.example",
            "--client-cert-header",
            "X-SSL-Client-Cert",
            "--public-url=https://API.example.com:443/",
            "--admin-token",
            "s3cret",
            "--property-admin",
            "property-42=p42-token",
            "--property-admin=property-7=a=b",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            all,
            Args {
                registry: Some("r.toml".into()),
                database_url: None,
                listen: "127.0.0.1:0".parse().unwrap(),
                allow_http: true,
                allow_network: vec!["127.0.0.0/8".into(), "idp.corp.example".into()],
                client_cert_header: Some(HeaderName::from_static("x-ssl-client-cert")),
                public_url: Some(Url::parse("https://api.example.com").unwrap()),
                admin_token: Some("s3cret".into()),
                property_admins: vec![
                    ("property-42".into(), "p42-token".into()),
                    ("property-7".into(), "a=b".into()),
                ],
            }
        );
        assert_eq!(
            all.egress(),
            EgressPolicy::new()
                .allow_http(true)
                .allow_network("127.0.0.0/8".parse().unwrap())
                .allow_host("idp.corp.example")
        );
        assert_eq!(parse(&[]).unwrap().unwrap().egress(), EgressPolicy::new());
        let db = parse(&["--database-url", "postgres://db/fedauth"])
            .unwrap()
            .unwrap();
        assert_eq!(db.database_url.as_deref(), Some("postgres://db/fedauth"));
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_command_lines() {
        for (args, error) in [
            (
                &["--allow-network", "10.0.0.0/40"][..],
                "--allow-network: \"10.0.0.0/40\" is not a CIDR, an IP address or a host name",
            ),
            (&["--verbose"], "unknown argument `--verbose`"),
            (&["--listen"], "--listen needs a value"),
            (
                &["--listen", "localhost"],
                "--listen: `localhost` is not an address like 127.0.0.1:8080",
            ),
            (&["--allow-http=yes"], "unknown argument `--allow-http=yes`"),
            (
                &["--registry", "r.toml", "--database-url", "postgres://db"],
                "--registry and --database-url are exclusive",
            ),
            (
                &["--client-cert-header", "bad header"],
                "--client-cert-header: `bad header` is not a header name",
            ),
            (
                &["--public-url", "https://api.example.com/?a=1"],
                "--public-url: `https://api.example.com/?a=1` is not an http(s) base URL without query or fragment",
            ),
            (
                &["--public-url", "ftp://api.example.com"],
                "--public-url: `ftp://api.example.com` is not an http(s) base URL without query or fragment",
            ),
            (&["--admin-token="], "--admin-token must not be empty"),
            (
                &["--admin-token", "t", "--property-admin", "p42"],
                "--property-admin: expected PROPERTY=TOKEN",
            ),
            (
                &["--admin-token", "t", "--property-admin", "=tok"],
                "--property-admin: expected PROPERTY=TOKEN",
            ),
            (
                &["--property-admin", "p=tok"],
                "--property-admin needs --admin-token (the admin API is off)",
            ),
        ] {
            assert_eq!(parse(args).unwrap_err(), error, "{args:?}");
        }
    }
}
