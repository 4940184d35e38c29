//! The coordinator's HTTP surface, shaped after Samza's static coordinator (`JobModelHttpServlet`): the model at
//! `/` as `application/json;charset=UTF-8`, 404 until it exists (Samza containers retry until they get a 200),
//! `/containerHeartbeat` as Samza's containers expect it from their coordinator, plus `/healthz` (the process
//! answers), `/readyz` (model present, inputs unchanged, model written to the coordinator stream) and `/metrics`.
//!
//! One client must never hold up another: the kubelet's probes have to answer while a slow or hostile client
//! takes megabytes of model at its own pace (or none). So each connection gets its own thread, with bounded
//! resources: at most `MAX_CONNECTIONS` at once (the next is told 503 and closed), a request head of at most
//! `MAX_REQUEST_HEAD` bytes read within `READ_TIMEOUT`, and a response whose every write must make progress within
//! `WRITE_TIMEOUT`. One request per connection (`Connection: close`): Samza's containers, the kubelet and
//! Prometheus all open a connection per request anyway. The model comes from `ModelLocation`'s cache, read once
//! per version of the mounted file; gzip-mounted models go as they are to clients that accept gzip, and other
//! large ones gzipped here once.
//!
//! The model and the heartbeat also live under `/model/<digest>/`: the samza-job chart points each worker there
//! with the digest of the model its pod template was rendered with. Only the model with that digest is served
//! (else 409, and Samza retries), and the heartbeat answers `alive: false` to a worker of another model, so a
//! worker never runs with a model other than its own, e.g. after an upgrade that updated the model ConfigMap and
//! the coordinator but not the worker StatefulSet.
//!
//! Hand-written on `std::net` rather than a crate: tiny_http (used before) answers on the caller's thread with no
//! socket timeouts, which is exactly the stall above, and an async server stack would be most of the binary.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::model::{Model, ModelError, ModelLocation};
use super::status::Status;

const JSON: &str = "application/json;charset=UTF-8";
const TEXT: &str = "text/plain; charset=utf-8";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Connections served at once; one more is answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 128;
/// The request line and headers; a longer head is answered 431.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one write of the response may wait for the client to read.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener and the flag that stops it.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    stopping: AtomicBool,
    active: Arc<AtomicUsize>,
}

impl Server {
    pub fn bind(addr: &str) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        Ok(Server {
            listener,
            addr,
            stopping: AtomicBool::new(false),
            active: Arc::default(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes `serve` return: sets the flag, then wakes the blocked `accept` with a connection of its own.
    pub fn unblock(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
    }

    /// Accepts connections until `unblock`, each answered on a thread of its own.
    pub fn serve(&self, location: &ModelLocation, status: &Arc<Mutex<Status>>) {
        for stream in self.listener.incoming() {
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            let Ok(stream) = stream else {
                // Out of file descriptors and the like: the next accept may work again.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            if self.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                self.active.fetch_sub(1, Ordering::SeqCst);
                let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
                let _ = respond(&stream, false, 503, TEXT, None, b"too many connections\n");
                continue;
            }
            let (location, status, active) = (
                location.clone(),
                Arc::clone(status),
                Arc::clone(&self.active),
            );
            let spawned = std::thread::Builder::new()
                .name("http-connection".to_owned())
                .spawn(move || {
                    let _ = handle(&stream, &location, &status);
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                self.active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// The parts of a request this server looks at.
struct Request {
    method: String,
    target: String,
    accepts_gzip: bool,
}

/// Reads one request from `stream` and answers it.
fn handle(
    stream: &TcpStream,
    location: &ModelLocation,
    status: &Arc<Mutex<Status>>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let request = match read_request(stream)? {
        Ok(request) => request,
        Err((code, message)) => {
            return respond(stream, false, code, TEXT, None, message.as_bytes())
        }
    };
    let head_only = request.method == "HEAD";
    if request.method != "GET" && !head_only {
        return respond(
            stream,
            false,
            405,
            TEXT,
            None,
            b"only GET and HEAD are served\n",
        );
    }
    let (wanted, path) = route(&request.target);
    if path == "/" {
        let (code, body, gzip) = match location.read() {
            Ok(model) => match other_model(wanted.as_deref(), &model) {
                Some(refusal) => (409, Some(refusal), None),
                None => (200, None, Some(model)),
            },
            Err(error @ ModelError::Missing { .. }) => (404, Some(format!("{error}\n")), None),
            Err(error) => (500, Some(format!("{error}\n")), None),
        };
        *lock(status).model_requests.entry(code).or_default() += 1;
        return match (gzip, body) {
            (Some(model), _) => match request
                .accepts_gzip
                .then(|| model.gzip_for_client())
                .flatten()
            {
                Some(compressed) => respond(stream, head_only, 200, JSON, Some("gzip"), compressed),
                None => respond(stream, head_only, 200, JSON, None, &model.json),
            },
            (None, body) => respond(
                stream,
                head_only,
                code,
                TEXT,
                None,
                body.unwrap_or_default().as_bytes(),
            ),
        };
    }
    let (code, content_type, body) =
        answer(&request.target, path, wanted.as_deref(), location, status);
    respond(stream, head_only, code, content_type, None, &body)
}

/// The digest a worker asks for (`/model/<digest>/<route>`), if it does, and the route (`/<route>`).
fn route(target: &str) -> (Option<String>, &str) {
    let path = target.split('?').next().unwrap_or_default();
    match path
        .strip_prefix("/model/")
        .and_then(|rest| rest.find('/').map(|at| rest.split_at(at)))
    {
        // `sha256:…`, also when a client escaped the colon.
        Some((digest, route)) => (Some(digest.replace("%3A", ":").replace("%3a", ":")), route),
        None => (None, path),
    }
}

/// Why a worker that asks for the model `wanted` must not get `model`, if it must not.
fn other_model(wanted: Option<&str>, model: &Model) -> Option<String> {
    let wanted = wanted?;
    (wanted != model.digest).then(|| {
        format!(
            "this worker's pod template was rendered for job model {wanted}, the coordinator has {}: waiting \
             until the workers are deployed with this model\n",
            model.digest
        )
    })
}

/// Everything but the model itself, answered from the status (held only while the answer is made).
fn answer(
    target: &str,
    path: &str,
    wanted: Option<&str>,
    location: &ModelLocation,
    status: &Arc<Mutex<Status>>,
) -> (u16, &'static str, Vec<u8>) {
    match path {
        // Samza containers that have EXECUTION_ENV_CONTAINER_ID (the chart sets it to the pod name) run a
        // ContainerHeartbeatMonitor that asks this every minute and shuts the container down unless the answer
        // is {"alive":true}. On YARN the coordinator checks the id against the containers it launched; here the
        // StatefulSets own the pods, so every container of the job is one that should be running.
        "/containerHeartbeat" => {
            if query_value(target, "executionContainerId").is_none_or(str::is_empty) {
                return (400, TEXT, b"missing executionContainerId\n".to_vec());
            }
            lock(status).container_heartbeats += 1;
            // A worker of another model must stop: Samza shuts the container down on `alive: false`.
            let alive = match location.read() {
                Ok(model) => other_model(wanted, &model).is_none(),
                // The coordinator's own trouble (Kafka not reachable yet for a model carried as its inputs, a
                // file it cannot read for now) says nothing about the worker: it is not stopped for it.
                Err(ModelError::Unreadable { .. }) => true,
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
            let problem = location.load().err().map(|error| error.to_string());
            let mut status = lock(status);
            status.model_problem = problem;
            match status.readiness() {
                Ok(()) => (200, TEXT, b"ready\n".to_vec()),
                Err(reasons) => (503, TEXT, format!("{}\n", reasons.join("\n")).into_bytes()),
            }
        }
        "/metrics" => {
            let problem = location.load().err().map(|error| error.to_string());
            let mut status = lock(status);
            status.model_problem = problem;
            (200, PROMETHEUS, status.metrics().into_bytes())
        }
        _ => (404, TEXT, b"not found: the job model is at /\n".to_vec()),
    }
}

fn lock(status: &Arc<Mutex<Status>>) -> std::sync::MutexGuard<'_, Status> {
    status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The request head, or the status and message a malformed one gets. An I/O error (a timeout included) ends the
/// connection without an answer.
fn read_request(stream: &TcpStream) -> io::Result<Result<Request, (u16, &'static str)>> {
    let mut head = Vec::with_capacity(1024);
    let mut reader = stream.take(MAX_REQUEST_HEAD as u64 + 1);
    let mut byte = [0u8; 1024];
    let end = loop {
        if let Some(end) = find_head_end(&head) {
            break end;
        }
        if head.len() > MAX_REQUEST_HEAD {
            return Ok(Err((431, "request head too large\n")));
        }
        let read = reader.read(&mut byte)?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&byte[..read]);
    };
    let Ok(text) = std::str::from_utf8(&head[..end]) else {
        return Ok(Err((400, "the request head is not UTF-8\n")));
    };
    let mut lines = text.split("\r\n").flat_map(|line| line.split('\n'));
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(Err((400, "malformed request line\n")));
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Ok(Err((400, "malformed request line\n")));
    }
    let accepts_gzip = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept-encoding")
                && value
                    .split(',')
                    .any(|coding| coding.split(';').next().unwrap_or_default().trim() == "gzip")
        })
    });
    Ok(Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        accepts_gzip,
    }))
}

/// Where the head ends (the blank line), counting the line ends as HTTP/1.1 clients and `nc` write them.
fn find_head_end(head: &[u8]) -> Option<usize> {
    let crlf = head.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = head.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn respond(
    mut stream: &TcpStream,
    head_only: bool,
    code: u16,
    content_type: &str,
    content_encoding: Option<&str>,
    body: &[u8],
) -> io::Result<()> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    };
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(encoding) = content_encoding {
        head.push_str(&format!(
            "Content-Encoding: {encoding}\r\nVary: Accept-Encoding\r\n"
        ));
    }
    if code == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
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
    use super::*;

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

    #[test]
    fn request_heads_end_at_the_first_blank_line() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"),
            Some(20)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.0\n\n"), Some(14));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }
}
