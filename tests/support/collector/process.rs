//! What a request read in full is answered, and what it records: auth, the
//! served config, GET hits, batches (kept, or only counted in counting mode).

use serde_json::Value;

use super::request::Head;
use super::response::Response;
use super::state::{ConfigDoc, Shared, State};
use super::{Batch, RequestLog};

/// Processes, logs; returns the response.
pub(super) fn process_and_log(shared: &Shared, req: &Received<'_>, log: RequestLog) -> Response {
    process_and_log_at(shared, req, log).0
}

/// Processes, logs; returns the response and the log's index.
pub(super) fn process_and_log_at(
    shared: &Shared,
    req: &Received<'_>,
    mut log: RequestLog,
) -> (Response, usize) {
    let mut st = shared.lock();
    let response = process(&mut st, req);
    log.status = response.status;
    let index = st.push_request(log);
    drop(st);
    shared.changed.notify_all();
    (response, index)
}

/// A request read in full.
pub(super) struct Received<'a> {
    pub(super) head: &'a Head,
    pub(super) body_len: usize,
    pub(super) gzip: bool,
    /// None when gunzip failed.
    pub(super) decoded: Option<&'a [u8]>,
    /// None when the (decoded) body is not JSON, or in counting mode.
    pub(super) json: Option<Value>,
    /// Counting mode: the batch's events, when the body is a valid batch.
    pub(super) lean: Option<LeanBatch<'a>>,
}

/// A batch body read for counting: the syntax is checked in full, only the
/// fields the collector acts on are kept.
#[derive(serde::Deserialize)]
pub(super) struct LeanBatch<'a> {
    #[serde(borrow)]
    pub(super) batch: Vec<LeanEvent<'a>>,
}

/// An event of a `LeanBatch`: its id and name.
#[derive(serde::Deserialize)]
pub(super) struct LeanEvent<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) event: Option<std::borrow::Cow<'a, str>>,
}

/// Normal processing: authorization, routing, validation, recording.
pub(super) fn process(st: &mut State, req: &Received<'_>) -> Response {
    let head = req.head;
    if let Some(required) = &st.auth {
        if head.header("authorization") != Some(required.as_str()) {
            return Response::new(401).with("WWW-Authenticate", "Bearer".into());
        }
    }
    let path = head.target.split('?').next().unwrap_or("");
    if let Some(config) = st.config_for(&head.method, &head.target) {
        let response = config_response(config, head);
        if response.status == 304 {
            st.config_not_modified += 1;
        }
        return response;
    }
    match head.method.as_str() {
        "GET" => {
            st.hits.push(head.target.clone());
            Response::new(200)
        }
        "POST" if path == "/v1/batch" => {
            let json_type = head.header("content-type").is_some_and(|v| {
                v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json")
            });
            let encoding_ok = head.header("content-encoding").is_none_or(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("identity")
            });
            if !json_type || !encoding_ok {
                return Response::new(400);
            }
            if let Some(lean) = &req.lean {
                return record_lean(st, lean);
            }
            let (Some(decoded), Some(json)) = (&req.decoded, &req.json) else {
                return Response::new(400);
            };
            let Some(events) = json.get("batch").and_then(Value::as_array) else {
                return Response::new(400);
            };
            if let Some(poison) = &st.poison {
                if events.iter().any(|e| e.get("event").and_then(Value::as_str) == Some(poison)) {
                    return Response::new(400);
                }
            }
            for e in events {
                if let Some(id) = e.get("messageId").and_then(Value::as_str) {
                    if !st.seen.insert(id.to_string()) {
                        st.duplicates += 1;
                    }
                }
                st.events.push(e.clone());
                st.accepted_events += 1;
            }
            st.batches.push(Batch {
                headers: head.headers.clone(),
                body: json.clone(),
                gzip: req.gzip,
                body_bytes: req.body_len,
                decoded_bytes: decoded.len(),
            });
            Response::ok_json()
        }
        "POST" => Response::new(404),
        _ => Response::new(405).with("Allow", "GET, POST".into()),
    }
}

/// The answer to a GET of the config path.
fn config_response(config: &ConfigDoc, head: &Head) -> Response {
    let Some(body) = &config.body else {
        return Response::new(404);
    };
    if let Some(etag) = &config.etag {
        if head.header("if-none-match").is_some_and(|v| v.trim() == etag) {
            return Response::new(304).with("ETag", etag.clone());
        }
    }
    let mut r = Response::json(200, body.clone().into_bytes());
    if body.is_empty() {
        // `write_response` types only non-empty bodies.
        r = r.with("Content-Type", "application/json".into());
    }
    if let Some(etag) = &config.etag {
        r = r.with("ETag", etag.clone());
    }
    r
}

/// Counting mode's recording: dedup and count, nothing kept.
fn record_lean(st: &mut State, lean: &LeanBatch<'_>) -> Response {
    if let Some(poison) = &st.poison {
        if lean.batch.iter().any(|e| e.event.as_deref() == Some(poison.as_str())) {
            return Response::new(400);
        }
    }
    for e in &lean.batch {
        if let Some(id) = &e.message_id {
            if !st.seen.insert(id.to_string()) {
                st.duplicates += 1;
            }
        }
        st.accepted_events += 1;
    }
    Response::ok_json()
}
