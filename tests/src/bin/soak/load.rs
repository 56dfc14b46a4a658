//! The soak driver: load.

use super::*;
pub(crate) async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Empty<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One GET on a fresh connection (readiness, metrics).
pub(crate) async fn simple_get(addr: SocketAddr, path: &str) -> Result<(u16, Bytes), String> {
    let mut sender = connect(addr).await?;
    let req = Request::get(path)
        .header(header::HOST, addr.to_string())
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

pub(crate) async fn worker(ctx: Arc<Ctx>, conn: usize) -> Stats {
    let mut stats = Stats::default();
    // Stagger the mix so that the connections do not all send the same class at once.
    let mut n = (conn as u64).wrapping_mul(37);
    let host = ctx.addr.to_string();
    'connection: while Instant::now() < ctx.deadline {
        let mut sender = match connect(ctx.addr).await {
            Ok(s) => s,
            Err(e) => {
                stats.connect_errors += 1;
                stats.example("connect errors", e);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        stats.connections += 1;
        while Instant::now() < ctx.deadline {
            n += 1;
            let minted = ctx.mint(conn, n);
            let req = Request::get("/whoami")
                .header(header::HOST, &host)
                .header("x-sc-auth", REGISTRATION)
                .header(header::AUTHORIZATION, format!("Bearer {}", minted.token))
                .body(Empty::new());
            let Ok(req) = req else {
                continue;
            };
            let sent_ms = ctx.elapsed_ms();
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                let status = resp.status().as_u16();
                let body = resp.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>((status, body))
            })
            .await;
            let (outcome, body) = match answer {
                Ok(Ok((status, body))) => {
                    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let code = json.get("code").and_then(Value::as_str).map(str::to_owned);
                    (Outcome::Status(status, code), Some((json, body)))
                }
                Ok(Err(e)) => {
                    stats.example("transport errors", format!("t={sent_ms} ms: {e}"));
                    (Outcome::TransportError, None)
                }
                Err(_) => (Outcome::Timeout, None),
            };
            let reconnect = body.is_none();
            ctx.record(&mut stats, &minted, sent_ms, outcome, body);
            if reconnect {
                continue 'connection;
            }
        }
        break;
    }
    stats
}

impl Ctx {
    pub(crate) fn record(
        &self,
        stats: &mut Stats,
        minted: &Minted,
        sent_ms: u64,
        outcome: Outcome,
        body: Option<(Value, Bytes)>,
    ) {
        let phase = self.phase(sent_ms);
        let t = sent_ms as f64 / 1000.0;
        self.requests.fetch_add(1, Ordering::Relaxed);
        if outcome.is_5xx() {
            self.status_5xx.fetch_add(1, Ordering::Relaxed);
            let excused =
                minted.outage_key && phase.in_window() && outcome.code() == Some("idp_unavailable");
            if !excused {
                stats.example(
                    "unexcused 5xx",
                    format!(
                        "t={t:.3}s {} ({}{}): {}",
                        minted.class.name(),
                        phase.name(),
                        if minted.outage_key {
                            ", never-seen key"
                        } else {
                            ""
                        },
                        body_text(body.as_ref())
                    ),
                );
            }
        }
        let ok = matches!(outcome, Outcome::Status(200, _));
        match minted.class {
            Class::Forged(f) if ok => stats.example(
                "forged tokens accepted",
                format!("t={t:.3}s {}: {}", f.name(), body_text(body.as_ref())),
            ),
            Class::Fresh | Class::Pooled if ok => {
                let named = body
                    .as_ref()
                    .and_then(|(json, _)| json.get("subject"))
                    .and_then(Value::as_str);
                if named != minted.subject.as_deref() {
                    stats.subject_mismatch += 1;
                    stats.example(
                        "wrong subject in a 200",
                        format!(
                            "t={t:.3}s {}: expected {:?}, got {}",
                            minted.class.name(),
                            minted.subject,
                            body_text(body.as_ref())
                        ),
                    );
                }
            }
            Class::Fresh | Class::Pooled => {
                self.valid_refused.fetch_add(1, Ordering::Relaxed);
                if !phase.in_window() {
                    stats.example(
                        "valid tokens refused outside the outage",
                        format!(
                            "t={t:.3}s {} ({}): {}",
                            minted.class.name(),
                            phase.name(),
                            body_text(body.as_ref())
                        ),
                    );
                }
            }
            Class::Forged(_) => {}
        }
        let key = Key {
            class: minted.class,
            phase,
            outage_key: minted.outage_key,
            outcome,
        };
        *stats.counts.entry(key).or_default() += 1;
    }
}

pub(crate) fn body_text(body: Option<&(Value, Bytes)>) -> String {
    match body {
        None => "(no answer)".into(),
        Some((_, raw)) => {
            let text = String::from_utf8_lossy(raw);
            let text: String = text.chars().take(300).collect();
            text.replace('\n', " ")
        }
    }
}
