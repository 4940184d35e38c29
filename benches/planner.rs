//! Planner speed at the size of a large deployment: 100,000 input partitions over 100 topics into 1,000
//! containers, plain and through the host-affinity balance path (previous model with another container
//! count), plus GroupBySystemStreamPartition, where every partition is its own task.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use helm_samza::samza::{plan, Config, PartitionFacts, Previous, SystemStream};

const TOPICS: usize = 100;
const PARTITIONS: u32 = 1_000;

fn job(containers: u32, extra: &[(&str, &str)]) -> (Config, PartitionFacts) {
    let names: Vec<String> = (0..TOPICS).map(|i| format!("kafka.topic-{i:03}")).collect();
    let mut config = Config::default();
    config.set("job.name", "bench");
    config.set("job.default.system", "kafka");
    config.set("task.inputs", names.join(","));
    config.set("job.container.count", containers.to_string());
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let counts = names
        .iter()
        .map(|n| {
            (
                SystemStream::parse(n, "task.inputs").expect("valid name"),
                PARTITIONS,
            )
        })
        .collect();
    (
        config,
        PartitionFacts {
            counts,
            topics: BTreeMap::new(),
        },
    )
}

fn planner(c: &mut Criterion) {
    let (config, facts) = job(1_000, &[]);
    c.bench_function("plan 100k partitions, 1000 containers", |b| {
        b.iter(|| plan(black_box(&config), black_box(&facts), None).expect("plans"))
    });

    let affinity = [("job.host-affinity.enabled", "true")];
    let (old_config, _) = job(800, &affinity);
    let previous = Previous::from_model(&plan(&old_config, &facts, None).expect("plans").model);
    let (config, facts) = job(1_000, &affinity);
    c.bench_function(
        "plan 100k partitions, balance 800 -> 1000 containers",
        |b| {
            b.iter(|| {
                plan(
                    black_box(&config),
                    black_box(&facts),
                    Some(black_box(&previous)),
                )
                .expect("plans")
            })
        },
    );

    let by_ssp = [(
        "job.systemstreampartition.grouper.factory",
        "org.apache.samza.container.grouper.stream.GroupBySystemStreamPartitionFactory",
    )];
    let (config, facts) = job(1_000, &by_ssp);
    c.bench_function("plan 100k partitions as 100k tasks, 1000 containers", |b| {
        b.iter(|| plan(black_box(&config), black_box(&facts), None).expect("plans"))
    });
}

criterion_group!(benches, planner);
criterion_main!(benches);
