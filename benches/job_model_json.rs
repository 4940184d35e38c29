//! The job model's JSON writer at 10k, 100k and 1M input partitions over 1,000 containers (GroupByPartition):
//! time, and bytes allocated as counted by a global allocator. Two shapes: topics of 1,000 partitions each
//! (1,000 tasks of N/1,000 partitions) and one topic of N partitions (N tasks of one partition, the larger JSON).
//! Target: 1M partitions in < 1 s, cost growing linearly with the model.
//!
//! Each size is measured twice in the same run: the streaming writer (`JobModel::to_json`, what every command
//! uses) and, as the baseline it replaced, the model built as a `serde_json::Value` tree and then written. The
//! tree is rebuilt here from the model's public fields, so the library keeps one writer.
//!
//! Allocation figures are printed first (one run of each case), then Criterion measures time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput};
use helm_samza::samza::{
    plan, Config, ContainerModel, JobModel, PartitionFacts, SamzaVersion, Ssp, SystemStream,
    TaskModel,
};
use serde_json::{json, Map, Value};

/// Counts bytes allocated in all, and the most held at once, on top of the system allocator.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A grown buffer counts as a new allocation of its new size (a copy, unless the system can extend it).
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        count_alloc(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn count_alloc(size: usize) {
    ALLOCATED.fetch_add(size, Ordering::Relaxed);
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one call allocated: in all, and at most at once beyond what was live before it.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    let allocated = ALLOCATED.load(Ordering::Relaxed);
    let out = f();
    (
        out,
        ALLOCATED.load(Ordering::Relaxed) - allocated,
        PEAK.load(Ordering::Relaxed) - live,
    )
}

const SIZES: [u32; 3] = [10_000, 100_000, 1_000_000];
const CONTAINERS: u32 = 1_000;

/// Partitions per topic in the shape of 1,000 tasks.
const TOPIC_PARTITIONS: u32 = 1_000;

/// The model of `partitions` input partitions over 1,000 containers: in topics of 1,000 partitions, or in one
/// topic (`helm-samza model --partitions kafka.X=<partitions>`).
fn model(partitions: u32, one_topic: bool) -> JobModel {
    let topics: Vec<(SystemStream, u32)> = if one_topic {
        vec![(SystemStream::new("kafka", "X"), partitions)]
    } else {
        (0..partitions / TOPIC_PARTITIONS)
            .map(|i| {
                (
                    SystemStream::new("kafka", &format!("topic-{i:03}")),
                    TOPIC_PARTITIONS,
                )
            })
            .collect()
    };
    let inputs: Vec<String> = topics
        .iter()
        .map(|(s, _)| format!("{}.{}", s.system, s.stream))
        .collect();
    let mut config = Config::default();
    config.set("job.name", "bench");
    config.set("job.default.system", "kafka");
    config.set("task.inputs", inputs.join(","));
    config.set("job.container.count", CONTAINERS.to_string());
    let counts = topics.into_iter().collect();
    let facts = PartitionFacts {
        counts,
        topics: BTreeMap::new(),
    };
    plan(&config, &facts, None).expect("plans").model
}

/// The baseline: the model as a `serde_json::Value` tree (Samza's key order), then written.
fn tree_json(model: &JobModel) -> String {
    let ssp = |s: &Ssp| {
        let mut m = Map::new();
        m.insert("system".into(), json!(&*s.system));
        m.insert("partition".into(), json!(s.partition));
        m.insert("stream".into(), json!(&*s.stream));
        m.insert("keyBucket".into(), json!(s.key_bucket));
        Value::Object(m)
    };
    let task = |t: &TaskModel| {
        let mut m = Map::new();
        m.insert("task-name".into(), json!(t.name));
        m.insert(
            "system-stream-partitions".into(),
            Value::Array(t.ssps.iter().map(ssp).collect()),
        );
        m.insert("changelog-partition".into(), json!(t.changelog_partition));
        m.insert("task-mode".into(), json!(t.mode.as_str()));
        Value::Object(m)
    };
    let container = |c: &ContainerModel| {
        let tasks: Map<String, Value> = c.tasks.iter().map(|t| (t.name.clone(), task(t))).collect();
        let mut m = Map::new();
        m.insert("processor-id".into(), json!(c.id));
        m.insert("tasks".into(), Value::Object(tasks));
        Value::Object(m)
    };
    let mut root = Map::new();
    root.insert(
        "config".into(),
        model
            .config
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    );
    root.insert(
        "containers".into(),
        model
            .containers
            .iter()
            .map(|c| (c.id.clone(), container(c)))
            .collect(),
    );
    root.insert(
        "max-change-log-stream-partitions".into(),
        json!(model.max_changelog_partitions()),
    );
    serde_json::to_string(&Value::Object(root)).expect("a Value always serializes")
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One run of each case under the counting allocator, as a table; the baseline must give the same bytes.
/// "to a sink" writes the JSON into a 64 KiB buffer that is thrown away (what hashing it costs, less the hash);
/// "walk" only reads every task name and SSP of the model, writing nothing.
fn allocation_report(models: &[(String, JobModel)]) {
    println!(
        "| model | JSON MiB | stream ms | stream alloc MiB | stream peak MiB | to a sink ms | to a sink alloc MiB \
         | walk ms | tree ms | tree alloc MiB | tree peak MiB |"
    );
    for (name, model) in models {
        let version = SamzaVersion::default();
        let start = Instant::now();
        let (json, stream_alloc, stream_peak) = allocations(|| model.to_json(version));
        let stream_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let ((), sink_alloc, _) = allocations(|| {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::sink());
            model.write_json(version, &mut out).expect("a sink");
        });
        let sink_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let touched: usize = model
            .tasks()
            .map(|t| {
                let ssps: usize = t
                    .ssps
                    .iter()
                    .map(|s| s.stream.len() + s.partition as usize)
                    .sum();
                t.name.len() + ssps
            })
            .sum();
        black_box(touched);
        let walk_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let (tree, tree_alloc, tree_peak) = allocations(|| tree_json(model));
        let tree_ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(json, tree, "the writer and the baseline disagree");
        println!(
            "| {name} | {:.1} | {stream_ms:.0} | {:.1} | {:.1} | {sink_ms:.0} | {:.2} | {walk_ms:.0} | {tree_ms:.0} \
             | {:.1} | {:.1} |",
            mib(json.len()),
            mib(stream_alloc),
            mib(stream_peak),
            mib(sink_alloc),
            mib(tree_alloc),
            mib(tree_peak),
        );
    }
}

fn main() {
    let models: Vec<(String, JobModel)> = [false, true]
        .into_iter()
        .flat_map(|one_topic| {
            SIZES.iter().map(move |&n| {
                let shape = if one_topic {
                    "1 topic"
                } else {
                    "topics of 1000"
                };
                (format!("{n} partitions, {shape}"), model(n, one_topic))
            })
        })
        .collect();
    allocation_report(&models);

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let mut group = c.benchmark_group("job model JSON");
    for (partitions, model) in &models {
        let bytes = model.to_json(SamzaVersion::default()).len();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::new("stream", partitions), model, |b, m| {
            b.iter(|| black_box(m).to_json(SamzaVersion::default()))
        });
        group.bench_with_input(BenchmarkId::new("to a sink", partitions), model, |b, m| {
            b.iter(|| {
                let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::sink());
                black_box(m)
                    .write_json(SamzaVersion::default(), &mut out)
                    .expect("a sink");
            })
        });
        group.bench_with_input(
            BenchmarkId::new("tree (before)", partitions),
            model,
            |b, m| b.iter(|| tree_json(black_box(m))),
        );
    }
    group.finish();
    c.final_summary();
}
