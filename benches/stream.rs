//! Pass-through speed of the post-renderer's manifest layer on the 12 MB `big.yaml` chart render
//! (no Samza job inside): split, the cheap candidate pre-filter on every document, and write.
//! Target: 500 MB/s or more, so helm-samza adds nothing noticeable to a Helm run.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use helm_samza::manifest::Stream;

const CANDIDATE_KINDS: [&str; 5] = [
    "ConfigMap",
    "StatefulSet",
    "KafkaTopic",
    "Deployment",
    "Service",
];

fn chart(name: &str) -> String {
    let shared = std::env::var_os("HELM_SAMZA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = shared.join("corpus/charts").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; set HELM_SAMZA_SHARED", path.display()))
}

/// What the post-renderer does with a stream that holds no Samza job.
fn pass_through(input: &str, out: &mut Vec<u8>) -> usize {
    let stream = Stream::split(input);
    let mut parsed = 0;
    for doc in stream.documents() {
        let candidate = doc.mentions("samza.apache.org/")
            && doc
                .kind_hint()
                .is_none_or(|kind| CANDIDATE_KINDS.contains(&kind));
        if candidate && doc.head().expect("corpus documents parse").is_some() {
            parsed += 1;
        }
    }
    stream.write(out).expect("writing to memory");
    parsed
}

fn stream(c: &mut Criterion) {
    let input = chart("big.yaml");
    let mut out = Vec::with_capacity(input.len());
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("big.yaml split+prefilter+write", |b| {
        b.iter(|| {
            out.clear();
            pass_through(&input, &mut out)
        })
    });
    group.finish();
    assert_eq!(out, input.as_bytes(), "pass-through must be byte-identical");
}

/// The slow path, for scale: what a full parse of every document of a 1.9 MB chart costs, as a
/// typed head (serde-saphyr) and as a Go-compatible JSON value (span tree).
fn parse(c: &mut Criterion) {
    let input = chart("argo-cd-helm3.yaml");
    let stream = Stream::split(&input);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    group.bench_function("argo-cd head of every document", |b| {
        b.iter(|| {
            stream
                .documents()
                .iter()
                .filter_map(|d| d.head().unwrap())
                .count()
        })
    });
    group.bench_function("argo-cd value of every document", |b| {
        b.iter(|| {
            stream
                .documents()
                .iter()
                .filter(|d| !d.value().unwrap().is_null())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, stream, parse);
criterion_main!(benches);
