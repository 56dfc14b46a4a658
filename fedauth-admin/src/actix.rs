//! The admin API as an actix-web [`Scope`]: every request under
//! `/admin/v1` goes to [`AdminApi::handle`] as it is; this module only
//! translates.

use std::sync::Arc;

use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header::{HeaderName as ActixName, HeaderValue as ActixValue};
use actix_web::{HttpRequest, HttpResponse, Scope, web};
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::api::{AdminApi, AdminRequest, BodyReader, PREFIX};

/// A scope serving `/admin/v1/*` (register it with `App::service`).
/// Bodies up to [`AdminApi::max_body_bytes`] are taken, whatever actix's
/// own payload limits; a larger one is `400 malformed_request`.
pub fn scope(api: Arc<AdminApi>) -> Scope {
    web::scope(PREFIX)
        .app_data(web::Data::from(api))
        .default_service(web::to(handle))
}

async fn handle(
    api: web::Data<AdminApi>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    let mut reader = BodyReader::new(&api);
    let complete = loop {
        match payload.next().await {
            None => break true,
            Some(Err(_)) => break false,
            Some(Ok(chunk)) if !reader.push(&chunk) => break false,
            Some(Ok(_)) => {}
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    let request = AdminRequest {
        method: Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or(Method::GET),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        headers,
        body: reader.finish(complete),
    };
    let answer = api.handle(request).await;
    let status =
        ActixStatus::from_u16(answer.status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            ActixName::from_bytes(name.as_str().as_bytes()),
            ActixValue::from_bytes(value.as_bytes()),
        ) {
            response.append_header((name, value));
        }
    }
    response.body(answer.body_bytes())
}
