//! The coordinator's HTTP surface, shaped after Samza's static coordinator (`JobModelHttpServlet`): the model at
//! `/` as `application/json;charset=UTF-8`, 404 until it exists (Samza containers retry until they get a 200),
//! `/containerHeartbeat` as Samza's containers expect it from their coordinator, plus `/healthz` (the process
//! answers), `/readyz` (model present and inputs unchanged) and `/metrics`.
//!
//! The model is read from disk on every request rather than cached: the mounted ConfigMap is swapped
//! atomically by the kubelet, and a model of a few megabytes is read far faster than containers ask for it.
//!
//! The same two Samza routes also live under `/model/<digest>/`: the samza-job chart points each worker there
//! with the model digest its pod template was rendered with. Only the model with that digest is served (else
//! 409, and Samza retries), and the heartbeat answers `alive: false` to a worker of another model, so a worker
//! never runs with a model other than its own, e.g. after an upgrade that updated the model ConfigMap and the
//! coordinator but not the worker StatefulSet.

use std::sync::{Arc, Mutex};

use tiny_http::{Header, Method, Request, Response, Server};

use super::model::{ModelError, ModelLocation};
use super::status::Status;

const JSON: &str = "application/json;charset=UTF-8";
const TEXT: &str = "text/plain; charset=utf-8";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Answers requests until the server is unblocked.
pub fn serve(server: &Server, location: &ModelLocation, status: &Arc<Mutex<Status>>) {
    for request in server.incoming_requests() {
        let (code, content_type, body) = answer(&request, location, status);
        let header =
            Header::from_bytes("Content-Type", content_type).expect("static header is valid");
        let response = Response::from_data(body)
            .with_status_code(code)
            .with_header(header);
        // A client that went away is its own problem; the next request is served all the same.
        let _ = request.respond(response);
    }
}

fn answer(
    request: &Request,
    location: &ModelLocation,
    status: &Arc<Mutex<Status>>,
) -> (u16, &'static str, Vec<u8>) {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return (405, TEXT, b"only GET and HEAD are served\n".to_vec());
    }
    let path = request.url().split('?').next().unwrap_or_default();
    let mut status = status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // `/model/<digest>/<route>`: `<route>` for a worker of the model with that digest.
    let (wanted, path) = match path
        .strip_prefix("/model/")
        .and_then(|rest| rest.split_once('/'))
    {
        // `sha256:…`, also when a client escaped the colon.
        Some((digest, route)) => (
            Some(digest.replace("%3A", ":").replace("%3a", ":")),
            format!("/{route}"),
        ),
        None => (None, path.to_owned()),
    };
    let other_model = |model: &[u8]| {
        let wanted = wanted.as_deref()?;
        let have = crate::render::digest(&String::from_utf8_lossy(model));
        (wanted != have).then(|| {
            format!(
                "this worker's pod template was rendered for job model {wanted}, the coordinator has {have}: \
                 waiting until the workers are deployed with this model\n"
            )
        })
    };
    match path.as_str() {
        "/" => {
            let (code, content_type, body) = match location.read() {
                Ok(model) => match other_model(&model) {
                    Some(refusal) => (409, TEXT, refusal.into_bytes()),
                    None => (200, JSON, model),
                },
                Err(error @ ModelError::Missing { .. }) => {
                    (404, TEXT, format!("{error}\n").into_bytes())
                }
                Err(error) => (500, TEXT, format!("{error}\n").into_bytes()),
            };
            *status.model_requests.entry(code).or_default() += 1;
            (code, content_type, body)
        }
        // Samza containers that have EXECUTION_ENV_CONTAINER_ID (the chart sets it to the pod name) run a
        // ContainerHeartbeatMonitor that asks this every minute and shuts the container down unless the answer
        // is {"alive":true}. On YARN the coordinator checks the id against the containers it launched; here the
        // StatefulSets own the pods, so every container of the job is one that should be running.
        "/containerHeartbeat" => {
            if query_value(request.url(), "executionContainerId").is_none_or(str::is_empty) {
                return (400, TEXT, b"missing executionContainerId\n".to_vec());
            }
            status.container_heartbeats += 1;
            // A worker of another model must stop: Samza shuts the container down on `alive: false`.
            let alive = match location.read() {
                Ok(model) => other_model(&model).is_none(),
                Err(_) => wanted.is_none(),
            };
            let answer: &[u8] = if alive {
                br#"{"alive":true}"#
            } else {
                br#"{"alive":false}"#
            };
            (200, JSON, answer.to_vec())
        }
        "/healthz" => (200, TEXT, b"ok\n".to_vec()),
        "/readyz" => {
            // The model may have appeared since the last poll; readiness must not lag behind it.
            status.model_problem = location.load().err().map(|error| error.to_string());
            match status.readiness() {
                Ok(()) => (200, TEXT, b"ready\n".to_vec()),
                Err(reasons) => (503, TEXT, format!("{}\n", reasons.join("\n")).into_bytes()),
            }
        }
        "/metrics" => {
            status.model_problem = location.load().err().map(|error| error.to_string());
            (200, PROMETHEUS, status.metrics().into_bytes())
        }
        _ => (404, TEXT, b"not found: the job model is at /\n".to_vec()),
    }
}

/// The raw value of `name` in the query string of `url` (Samza sends container ids that need no decoding).
fn query_value<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == name => Some(value),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::query_value;

    #[test]
    fn query_values_are_found_by_name() {
        let url = "/containerHeartbeat?a=1&executionContainerId=job-worker-0";
        assert_eq!(
            query_value(url, "executionContainerId"),
            Some("job-worker-0")
        );
        assert_eq!(query_value(url, "b"), None);
        assert_eq!(
            query_value("/containerHeartbeat", "executionContainerId"),
            None
        );
    }
}
