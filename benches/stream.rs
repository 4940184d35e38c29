//! Pass-through speed of the post-renderer's manifest layer on the 12 MB `big.yaml` chart render
//! (no Samza job inside): split, the cheap candidate pre-filter on every document, and write.
//! Target: 500 MB/s or more, so helm-samza adds nothing noticeable to a Helm run.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use helm_samza::{
    facts::FactSources,
    kafka::{KnownCounts, Overrides, SourceKind},
    manifest::Stream,
    render::{render, RenderOptions},
};

/// A chart render of the repository's test corpus; `big.yaml` is built from the renders `big.list` names.
fn chart(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/charts");
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    if name == "big.yaml" {
        read("big.list")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(read)
            .collect()
    } else {
        read(name)
    }
}

/// The post-renderer's own pipeline (`render::render`), offline, on a stream that holds no Samza job.
fn post_render(input: &[u8]) -> usize {
    let flags = KnownCounts::new(SourceKind::Flags);
    let overrides = Overrides::default();
    let options = RenderOptions {
        sources: FactSources {
            flags: &flags,
            lock: None,
            offline: true,
            overrides: &overrides,
        },
        previous: Default::default(),
        samza_version: Default::default(),
        model_layout: Default::default(),
        allow_unsafe: false,
        keep_going: false,
        reuse_models: false,
        deployed: None,
        stream_over_lock: false,
    };
    let rendered = render(input, &options).expect("corpus streams render");
    assert!(
        rendered.output.as_ref() == input,
        "pass-through must be byte-identical"
    );
    rendered.output.len()
}

fn stream(c: &mut Criterion) {
    let input = chart("big.yaml");
    // A samza.apache.org/ annotation on a resource that is not part of a job defeats the fast path: the whole
    // stream is split, every document pre-filtered, the annotated one parsed, and the stream written back.
    let mut labelled = input.clone();
    labelled.push_str(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    samza.apache.org/note: not a job\n",
    );
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("big.yaml post-render (no job: fast path)", |b| {
        b.iter(|| post_render(input.as_bytes()))
    });
    group.bench_function("big.yaml post-render (split, pre-filter, write)", |b| {
        b.iter(|| post_render(labelled.as_bytes()))
    });
    group.finish();
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
