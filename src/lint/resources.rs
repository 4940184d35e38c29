//! SZ3xx: memory and CPU of the job's pods: the JVM heap against the container's memory limit, and requests
//! and limits being set at all.
//!
//! The heap a Samza container gets is the last `-Xmx` of `JAVA_OPTS`; Samza's `ShellCommandBuilder` fills
//! `JAVA_OPTS` from `task.opts`, and `run-class.sh` adds `-Xmx768M` when `JAVA_OPTS` has no `-Xmx`. A pod spec
//! that sets `JAVA_OPTS` itself (as the samza-job chart does) is what the JVM really sees, so it is read first.

use serde_json::Value;

use super::catalogue::{COORDINATOR_MEMORY, HEAP_EXCEEDS_LIMIT, HEAP_HEADROOM, MISSING_RESOURCES};
use super::pod::{env_value, human_bytes, quantity_bytes, xmx_bytes, PodView};
use super::{Findings, JobContext};

/// `run-class.sh`'s heap when `JAVA_OPTS` has no `-Xmx`.
const RUN_CLASS_DEFAULT_HEAP: u64 = 768 << 20;
/// Minimum room beside the heap: metaspace, thread stacks, direct buffers, RocksDB block cache and memtables.
const MIN_HEADROOM: u64 = 256 << 20;

/// What the coordinator needs beside the model, and per byte of the model's JSON: its peak measured with models
/// of 20 to 204 MB of JSON, computed from their inputs, served and written to the coordinator stream, was 168 MB
/// at 20 MB, 572 MB at 102 MB and 848 MB at 204 MB (docs/performance.md#large-models); this is above each.
const COORDINATOR_BASE: u64 = 64 << 20;
const COORDINATOR_PER_JSON_BYTE: u64 = 6;

/// The memory the coordinator needs for a model of `json_bytes` of JSON.
pub(crate) fn coordinator_memory(json_bytes: u64) -> u64 {
    COORDINATOR_BASE + COORDINATOR_PER_JSON_BYTE * json_bytes
}

pub(crate) fn check(ctx: &JobContext, out: &mut Findings) {
    for doc in ctx.workers() {
        if let Some(pod) = PodView::of(doc) {
            heap(ctx, &pod, out);
        }
    }
    if let Ok(model) = &ctx.job.model {
        let needed = coordinator_memory(model.json_bytes);
        for doc in ctx.coordinators() {
            let Some(pod) = PodView::of(doc) else {
                continue;
            };
            for (path, container) in pod.containers() {
                let Some(limit) = container
                    .pointer("/resources/limits/memory")
                    .and_then(quantity_bytes)
                else {
                    continue;
                };
                if limit < needed {
                    out.push(
                        &COORDINATOR_MEMORY,
                        ctx.name(),
                        Some(doc.index),
                        Some(format!("{path}.resources.limits.memory")),
                        format!(
                            "the job model is {} of JSON; the coordinator needs about {} to serve it, its memory \
                             limit is {}",
                            human_bytes(model.json_bytes),
                            human_bytes(needed),
                            human_bytes(limit)
                        ),
                    );
                }
            }
        }
    }
    for doc in ctx.workloads() {
        let Some(pod) = PodView::of(doc) else {
            continue;
        };
        for (path, container) in pod.containers() {
            let resources = container.get("resources");
            let missing: Vec<&str> = ["requests.cpu", "requests.memory", "limits.memory"]
                .into_iter()
                .filter(|p| {
                    let (group, key) = p.split_once('.').expect("literal paths");
                    resources
                        .and_then(|r| r.get(group))
                        .and_then(|g| g.get(key))
                        .is_none_or(Value::is_null)
                })
                .collect();
            if !missing.is_empty() {
                let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
                out.push(
                    &MISSING_RESOURCES,
                    ctx.name(),
                    Some(doc.index),
                    Some(format!("{path}.resources")),
                    format!("container '{name}' sets no {}", missing.join(", ")),
                );
            }
        }
    }
}

fn heap(ctx: &JobContext, pod: &PodView, out: &mut Findings) {
    let Some((path, container)) = pod.samza_container() else {
        return;
    };
    let Some(limit) = container
        .pointer("/resources/limits/memory")
        .and_then(quantity_bytes)
    else {
        return;
    };
    let (heap, field, source) = match env_value(container, "JAVA_OPTS") {
        Some(opts) => match xmx_bytes(opts) {
            Some(h) => (h, format!("{path}.env[JAVA_OPTS]"), "-Xmx in JAVA_OPTS"),
            None => (
                RUN_CLASS_DEFAULT_HEAP,
                format!("{path}.env[JAVA_OPTS]"),
                "run-class.sh's default -Xmx768M",
            ),
        },
        None => match ctx.config("task.opts").and_then(xmx_bytes) {
            Some(h) => (h, ctx.config_field("task.opts"), "-Xmx in task.opts"),
            None => (
                RUN_CLASS_DEFAULT_HEAP,
                ctx.config_field("task.opts"),
                "run-class.sh's default -Xmx768M",
            ),
        },
    };
    let headroom_needed = (limit / 4).max(MIN_HEADROOM);
    if heap >= limit {
        out.push(
            &HEAP_EXCEEDS_LIMIT,
            ctx.name(),
            Some(pod.doc.index),
            Some(field),
            format!(
                "the heap ({}, {source}) is at or above the memory limit ({}): the container is OOM-killed",
                human_bytes(heap),
                human_bytes(limit)
            ),
        );
    } else if limit - heap < headroom_needed {
        out.push(
            &HEAP_HEADROOM,
            ctx.name(),
            Some(pod.doc.index),
            Some(field),
            format!(
                "the heap ({}, {source}) leaves {} of the {} limit for off-heap memory; needs at least {}",
                human_bytes(heap),
                human_bytes(limit - heap),
                human_bytes(limit),
                human_bytes(headroom_needed)
            ),
        );
    }
}
