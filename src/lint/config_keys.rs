//! The Samza config keys helm-samza knows, for typo hints, and Samza's grouper factories.
//!
//! Samza ignores keys it does not read, so a misspelt `job.contaner.count` silently means "1 container". The
//! table below lists the keys of Samza's config classes (`JobConfig`, `TaskConfig`, `StorageConfig`,
//! `SystemConfig`, `StreamConfig`, `SerializerConfig`, `ClusterManagerConfig`, `KafkaConfig`, `MetricsConfig`,
//! ...) as patterns: `<x>` stands for one dot-free name (system, store, serde, ...) and a trailing `*` for a
//! pass-through family that Samza hands on unread (Kafka client properties, RocksDB options, topic properties,
//! per-stream properties, whose stream names may themselves contain dots). A key is reported only when it matches nothing *and* lies within a small edit distance
//! of a known key, so application keys of your own are left alone.

/// Known keys; a pattern ending in `*` is a pass-through family whose keys are never reported.
const KNOWN: &[&str] = &[
    // Job identity and wiring (JobConfig, ApplicationConfig).
    "job.name",
    "job.id",
    "app.name",
    "app.id",
    "app.class",
    "app.runner.class",
    "app.mode",
    "app.run.id",
    "app.main.class",
    "app.main.args",
    "job.factory.class",
    "job.default.system",
    "job.coordinator.system",
    "job.coordinator.factory",
    "job.coordinator.replication.factor",
    "job.coordinator.segment.bytes",
    "job.coordinator.max.message.bytes",
    "job.coordinator.monitor-partition-change.frequency.ms",
    "job.coordinator.monitor-input-regex.frequency.ms",
    "job.coordinator.zk.connect",
    "job.coordinator.zk.session.timeout.ms",
    "job.coordinator.zk.connection.timeout.ms",
    "job.coordinator.zk.consensus.timeout.ms",
    "job.coordinator.zk.enable-startup-with-active-job-model",
    "job.coordinator.azure.blob.length",
    "job.coordinator.execute",
    "azure.storage.connect",
    "job.coordinator.azure.storage.connect",
    "job.coordinator.restart.signal.factory",
    "job.coordinator.execution.plan.dir",
    "job.coordinator.use.static.resource.job.coordinator",
    "job.changelog.system",
    "job.container.count",
    "job.container.thread.pool.size",
    "job.container.single.thread.mode",
    "job.container.metadata.file",
    "job.autosizing.enabled",
    "job.autosizing.container.count",
    "job.autosizing.container.thread.pool.size",
    "job.autosizing.container.maxheap.mb",
    "job.autosizing.container.memory.mb",
    "job.autosizing.container.max.heap.mb",
    "job.autosizing.container.cpu.cores",
    "job.standbytasks.replication.factor",
    "job.host-affinity.enabled",
    "job.logged.store.base.dir",
    "job.non-logged.store.base.dir",
    "job.systemstreampartition.grouper.factory",
    "job.systemstreampartition.matcher.class",
    "job.systemstreampartition.matcher.config.ranges",
    "job.systemstreampartition.matcher.config.regex",
    "job.systemstreampartition.matcher.config.job.factory.regex",
    "job.systemstreampartition.input.expansion.enabled",
    "job.system.stream.partition.mapper.factory",
    "job.elasticity.factor",
    "job.intermediate.stream.partitions",
    "job.config.rewriters",
    "job.config.rewriter.<x>.class",
    "job.config.rewriter.<x>.system",
    "job.config.rewriter.<x>.regex",
    "job.config.rewriter.<x>.config.*",
    "job.config.loader.factory",
    "job.config.loader.properties.*",
    "job.debounce.time.ms",
    "job.security.manager.factory",
    "job.diagnostics.enabled",
    "job.jmx.enabled",
    "job.metadata.store.factory",
    // Tasks (TaskConfig).
    "task.class",
    "task.inputs",
    "task.broadcast.inputs",
    "task.window.ms",
    "task.commit.ms",
    "task.commit.max.delay.ms",
    "task.commit.timeout.ms",
    "task.callback.timeout.ms",
    "task.callback.watermark.ms",
    "task.callback.watermark.timeout.ms",
    "task.callback.drain.timeout.ms",
    "task.log4j.location.info.enabled",
    "task.max.concurrency",
    "task.max.idle.ms",
    "task.shutdown.ms",
    "task.opts",
    "task.java.home",
    "task.execute",
    "task.command.class",
    "task.log4j.system",
    "task.poll.interval.ms",
    "task.ignored.exceptions",
    "task.drop.deserialization.errors",
    "task.drop.serialization.errors",
    "task.drop.producer.errors",
    "task.consumer.batch.size",
    "task.name.grouper.factory",
    "task.chooser.class",
    "task.checkpoint.factory",
    "task.checkpoint.path",
    "job.checkpoint.validation.enabled",
    "task.checkpoint.system",
    "task.checkpoint.replication.factor",
    "task.checkpoint.segment.bytes",
    "task.checkpoint.max.message.bytes",
    "task.checkpoint.skip-migration",
    "task.checkpoint.write.versions",
    "task.checkpoint.read.versions",
    "task.transactional.state.checkpoint.enabled",
    "task.transactional.state.restore.enabled",
    "task.transactional.state.retain.existing.state",
    "task.async.commit",
    "processor.id",
    "processor.list",
    "additional.classpath.dir",
    // Systems and streams (SystemConfig, StreamConfig, KafkaConfig).
    "systems.<x>.samza.factory",
    "systems.<x>.samza.key.serde",
    "systems.<x>.samza.msg.serde",
    "systems.<x>.samza.offset.default",
    "systems.<x>.default.stream.*",
    "systems.<x>.consumer.*",
    "systems.<x>.producer.*",
    "systems.<x>.streams.*",
    "systems.<x>.samza.fetch.threshold",
    "systems.<x>.samza.fetch.threshold.bytes",
    "systems.<x>.samza.partition.manager",
    "systems.<x>.samza.delete.committed.messages",
    "streams.<x>.samza.system",
    "streams.<x>.samza.physical.name",
    "streams.<x>.samza.key.serde",
    "streams.<x>.samza.msg.serde",
    "streams.<x>.samza.bootstrap",
    "streams.<x>.samza.broadcast",
    "streams.<x>.samza.intermediate",
    "streams.<x>.samza.priority",
    "streams.<x>.samza.reset.offset",
    "streams.<x>.samza.offset.default",
    "streams.<x>.samza.delete.committed.messages",
    // Serdes (SerializerConfig).
    "serializers.registry.<x>.class",
    "serializers.registry.<x>.samza.serialized.instance",
    // Stores (StorageConfig, RocksDbTableDescriptor, KafkaConfig).
    "stores.<x>.factory",
    "stores.<x>.changelog",
    "stores.<x>.key.serde",
    "stores.<x>.msg.serde",
    "stores.<x>.changelog.replication.factor",
    "stores.<x>.changelog.max.message.bytes",
    "stores.<x>.changelog.max.message.size.bytes",
    "stores.<x>.changelog.delete.retention.ms",
    "stores.<x>.changelog.min.compaction.lag.ms",
    "stores.<x>.changelog.kafka.*",
    "stores.<x>.write.batch.size",
    "stores.<x>.object.cache.size",
    "stores.<x>.container.cache.size.bytes",
    "stores.<x>.container.write.buffer.size.bytes",
    "stores.<x>.accesslog.enabled",
    "stores.<x>.accesslog.sampling.ratio",
    "stores.<x>.side.inputs",
    "stores.<x>.side.inputs.processor.factory",
    "stores.<x>.side.inputs.processor.serialized.instance",
    "stores.<x>.disallow.large.messages",
    "stores.<x>.drop.large.messages",
    "stores.<x>.expect.large.messages",
    "stores.<x>.rocksdb.*",
    "stores.<x>.backup.factories",
    "stores.<x>.restore.factory",
    "stores.default.changelog.replication.factor",
    "stores.default.changelog.min.compaction.lag.ms",
    "stores.backup.factories",
    "stores.restore.factory",
    // Metrics (MetricsConfig).
    "metrics.reporters",
    "metrics.reporter.<x>.class",
    "metrics.reporter.<x>.stream",
    "metrics.reporter.<x>.interval",
    "metrics.reporter.<x>.*",
    "metrics.timer.enabled",
    "metrics.timer.debug.enabled",
    // Cluster managers and their deprecated YARN names (ClusterManagerConfig, YarnConfig, ShellCommandConfig).
    "cluster-manager.container.memory.mb",
    "cluster-manager.container.cpu.cores",
    "cluster-manager.container.retry.count",
    "cluster-manager.container.retry.window.ms",
    "cluster-manager.container.preferred-host.last.retry.delay.ms",
    "cluster-manager.container.fail.job.after.retries",
    "cluster-manager.container.request.timeout.ms",
    "cluster-manager.jobcoordinator.url.port",
    "cluster-manager.jobcoordinator.jmx.enabled",
    "cluster-manager.allocator.sleep.ms",
    "cluster-manager.factory",
    "cluster-manager.jmx.enabled",
    "cluster-manager.fault-domain-manager.factory",
    "cluster-manager.fault-domain-aware.standby.enabled",
    "samza.cluster-manager.factory",
    "yarn.*",
    "kube.*",
    "kubernetes.*",
    // Masked in logs, otherwise as without the prefix.
    "sensitive.*",
];

/// Keys people write that Samza never reads, with the key that does what they meant. Reported whatever the
/// edit distance (spec: there is no `job.container.task.grouper.factory` nor `cluster-manager.container.count`).
const MISNAMED: &[(&str, &str)] = &[
    (
        "job.container.task.grouper.factory",
        "task.name.grouper.factory",
    ),
    ("job.task.grouper.factory", "task.name.grouper.factory"),
    ("cluster-manager.container.count", "job.container.count"),
    (
        "job.systemstreampartition.matcher.config.range",
        "job.systemstreampartition.matcher.config.ranges",
    ),
    ("task.inputs.regex", "job.config.rewriters"),
];

/// Samza's SSP groupers (`job.systemstreampartition.grouper.factory`).
pub(crate) const SSP_GROUPERS: &[&str] = &[
    "org.apache.samza.container.grouper.stream.GroupByPartitionFactory",
    "org.apache.samza.container.grouper.stream.GroupBySystemStreamPartitionFactory",
    "org.apache.samza.container.grouper.stream.AllSspToSingleTaskGrouperFactory",
];

/// Samza's task-name groupers (`task.name.grouper.factory`).
pub(crate) const TASK_GROUPERS: &[&str] = &[
    "org.apache.samza.container.grouper.task.GroupByContainerCountFactory",
    "org.apache.samza.container.grouper.task.GroupByContainerIdsFactory",
    "org.apache.samza.container.grouper.task.SingleContainerGrouperFactory",
];

/// Largest edit distance that still counts as a typo.
const MAX_TYPO_DISTANCE: usize = 2;

/// What the table says about a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyVerdict {
    Known,
    /// Matches nothing and is close to (or a known misnaming of) this key.
    Typo(String),
    /// Matches nothing and is close to nothing: an application's own key.
    Foreign,
}

pub(crate) fn classify(key: &str) -> KeyVerdict {
    if let Some((_, meant)) = MISNAMED.iter().find(|(wrong, _)| *wrong == key) {
        return KeyVerdict::Typo((*meant).to_owned());
    }
    let segments: Vec<&str> = key.split('.').collect();
    // Exact patterns and pass-through families alike: a key of a family is never a typo.
    if KNOWN.iter().any(|p| matches(p, &segments)) {
        return KeyVerdict::Known;
    }
    // Candidates: every exact pattern, its `<x>` placeholders filled with the key's own segments in the same
    // position, so `stores.my-store.changlog` is compared with `stores.my-store.changelog`.
    let mut best: Option<(usize, String)> = None;
    for pattern in KNOWN.iter().filter(|p| !p.ends_with('*')) {
        let parts: Vec<&str> = pattern.split('.').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let candidate: Vec<&str> = parts
            .iter()
            .zip(&segments)
            .map(|(p, s)| if *p == "<x>" { *s } else { *p })
            .collect();
        let candidate = candidate.join(".");
        let distance = edit_distance(key, &candidate, MAX_TYPO_DISTANCE);
        if distance <= MAX_TYPO_DISTANCE && best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, candidate));
        }
    }
    match best {
        Some((d, candidate)) if d > 0 && key.len() > 2 * d + 4 => KeyVerdict::Typo(candidate),
        _ => KeyVerdict::Foreign,
    }
}

fn matches(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    let mut i = 0;
    for part in parts {
        match part {
            "*" => return segments.len() > i,
            "<x>" if i < segments.len() && !segments[i].is_empty() => i += 1,
            literal if i < segments.len() && segments[i] == literal => i += 1,
            _ => return false,
        }
    }
    i == segments.len()
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost 1
/// (`factroy` is one step from `factory`), or `max + 1` when it is more than `max`.
///
/// Only the band of cells within `max` of the diagonal is computed, in three rows: a key is user input, and the
/// full table of two 20,000-character keys would be 3 GB.
pub(crate) fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let far = max + 1;
    if a.len().abs_diff(b.len()) > max {
        return far;
    }
    let width = b.len() + 1;
    // Rows i-2, i-1 and i; a cell outside the band counts as `far`.
    let mut before: Vec<usize> = vec![far; width];
    let mut prev: Vec<usize> = (0..width).map(|j| j.min(far)).collect();
    let mut row: Vec<usize> = vec![far; width];
    for i in 1..=a.len() {
        let from = i.saturating_sub(max).max(1);
        let to = (i + max).min(b.len());
        // The cell left of the band may hold a value of an older row: reset it. Cells right of it were never
        // written by a row that used this buffer since, so they are still `far`.
        row[from - 1] = if from == 1 && i <= max { i } else { far };
        for j in from..=to {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            row[j] = v.min(far);
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

/// The closest of `names` to `value` by the simple class name, if reasonably close.
pub(crate) fn closest<'a>(value: &str, names: &[&'a str]) -> Option<&'a str> {
    let simple = |s: &str| s.rsplit('.').next().unwrap_or(s).to_ascii_lowercase();
    let v = simple(value);
    names
        .iter()
        .map(|n| (edit_distance(&v, &simple(n), 4), *n))
        .filter(|(d, _)| *d <= 4)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_hint_and_known_keys_do_not() {
        let cases = [
            ("job.contaner.count", Some("job.container.count")),
            ("job.container.count", None),
            (
                "stores.my-store.changlog",
                Some("stores.my-store.changelog"),
            ),
            (
                "systems.kafka.samza.factroy",
                Some("systems.kafka.samza.factory"),
            ),
            (
                "serializers.registry.json.clas",
                Some("serializers.registry.json.class"),
            ),
            ("task.comit.ms", Some("task.commit.ms")),
            (
                "job.container.task.grouper.factory",
                Some("task.name.grouper.factory"),
            ),
            ("systems.kafka.consumer.auto.offset.rest", None),
            ("stores.s.changelog.kafka.cleanup.polcy", None),
            (
                "systems.wikipedia.streams.#en.wikipedia.samza.priority",
                None,
            ),
            ("my.app.setting", None),
            ("wikipedia.host", None),
        ];
        for (key, hint) in cases {
            let got = classify(key);
            match hint {
                Some(h) => assert_eq!(got, KeyVerdict::Typo(h.to_owned()), "{key}"),
                None => assert!(!matches!(got, KeyVerdict::Typo(_)), "{key}: {got:?}"),
            }
        }
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("factroy", "factory", 4), 1);
        assert_eq!(edit_distance("contaner", "container", 4), 1);
        assert_eq!(edit_distance("", "abc", 4), 3);
        assert_eq!(edit_distance("same", "same", 4), 0);
        assert_eq!(
            edit_distance("abcdef", "badcfe", 2),
            3,
            "more than max is max + 1"
        );
        assert_eq!(edit_distance("abcdef", "badcfe", 4), 3);
        // Long keys cost their length, not its square.
        let long = "x".repeat(200_000);
        assert_eq!(edit_distance(&long, &format!("{long}y"), 2), 1);
        assert_eq!(edit_distance(&long, &format!("y{long}y"), 2), 2);
        assert_eq!(edit_distance(&long, &"z".repeat(200_000), 2), 3);
    }
}

#[cfg(test)]
mod documented_keys {
    use super::*;

    /// Every key of Samza's configuration reference (docs/learn/documentation/versioned/jobs/
    /// samza-configurations.md), with its placeholders filled in: none may look like a typo.
    const DOCUMENTED: &[&str] = &[
        "app.name",
        "app.id",
        "app.class",
        "job.factory.class",
        "job.name",
        "job.id",
        "job.default.system",
        "task.class",
        "job.host-affinity.enabled",
        "job.jmx.enabled",
        "task.window.ms",
        "task.log4j.system",
        "serializers.registry.json.class",
        "serializers.registry.kafka.encoder",
        "serializers.registry.kafka.decoder",
        "job.changelog.system",
        "job.coordinator.system",
        "job.coordinator.segment.bytes",
        "job.coordinator.replication.factor",
        "job.coordinator.monitor-partition-change.frequency.ms",
        "job.coordinator.execute",
        "job.config.rewriter.regex.class",
        "job.config.rewriters",
        "job.config.rewriter.regex.system",
        "job.config.rewriter.regex.regex",
        "job.config.rewriter.regex.config.samza.msg.serde",
        "job.container.thread.pool.size",
        "job.systemstreampartition.grouper.factory",
        "job.systemstreampartition.matcher.class",
        "job.systemstreampartition.matcher.config.ranges",
        "job.systemstreampartition.matcher.config.regex",
        "job.systemstreampartition.matcher.config.job.factory.regex",
        "job.systemstreampartition.input.expansion.enabled",
        "job.security.manager.factory",
        "task.callback.timeout.ms",
        "task.callback.watermark.timeout.ms",
        "task.callback.drain.timeout.ms",
        "task.chooser.class",
        "task.command.class",
        "task.drop.deserialization.errors",
        "task.drop.serialization.errors",
        "task.drop.producer.errors",
        "task.ignored.exceptions",
        "task.log4j.location.info.enabled",
        "task.max.idle.ms",
        "task.max.concurrency",
        "task.name.grouper.factory",
        "task.opts",
        "task.poll.interval.ms",
        "task.shutdown.ms",
        "task.checkpoint.factory",
        "task.commit.ms",
        "task.checkpoint.system",
        "job.checkpoint.validation.enabled",
        "task.checkpoint.path",
        "task.checkpoint.replication.factor",
        "task.checkpoint.segment.bytes",
        "task.inputs",
        "task.broadcast.inputs",
        "systems.kafka.samza.factory",
        "systems.kafka.default.stream.replication.factor",
        "systems.kafka.default.stream.samza.key.serde",
        "systems.kafka.default.stream.samza.msg.serde",
        "systems.kafka.default.stream.samza.offset.default",
        "streams.page-views.samza.system",
        "streams.page-views.samza.physical.name",
        "streams.page-views.samza.key.serde",
        "streams.page-views.samza.msg.serde",
        "streams.page-views.samza.offset.default",
        "streams.page-views.samza.delete.committed.messages",
        "streams.page-views.samza.reset.offset",
        "streams.page-views.samza.priority",
        "streams.page-views.samza.bootstrap",
        "streams.page-views.samza.broadcast",
        "task.consumer.batch.size",
        "systems.kafka.consumer.zookeeper.connect",
        "systems.kafka.producer.bootstrap.servers",
        "systems.kafka.consumer.auto.offset.reset",
        "systems.kafka.consumer.socket.timeout.ms",
        "systems.kafka.producer.timeout.ms",
        "systems.kafka.samza.fetch.threshold",
        "systems.kafka.samza.fetch.threshold.bytes",
        "systems.hdfs.producer.hdfs.base.output.dir",
        "systems.hdfs.producer.hdfs.writer.class",
        "systems.hdfs.stagingDirectory",
        "systems.hdfs.consumer.bufferCapacity",
        "systems.hdfs.consumer.numMaxRetries",
        "systems.hdfs.partitioner.defaultPartitioner.whitelist",
        "systems.hdfs.partitioner.defaultPartitioner.blacklist",
        "systems.hdfs.partitioner.defaultPartitioner.groupPattern",
        "systems.hdfs.consumer.reader",
        "systems.eventhubs.stream.list",
        "streams.input.eventhubs.namespace",
        "streams.input.eventhubs.entitypath",
        "sensitive.streams.input.eventhubs.sas.keyname",
        "sensitive.streams.input.eventhubs.sas.token",
        "streams.input.eventhubs.numClientThreads",
        "systems.eventhubs.eventhubs.prefetchCount",
        "systems.eventhubs.eventhubs.maxEventCountPerPoll",
        "systems.eventhubs.eventhubs.runtime.info.timeout",
        "systems.eventhubs.eventhubs.partition.method",
        "systems.eventhubs.eventhubs.send.key",
        "streams.input.eventhubs.consumer.group",
        "systems.eventhubs.eventhubs.receive.queue.size",
        "systems.kinesis.streams.s.aws.region",
        "systems.kinesis.streams.s.aws.accessKey",
        "systems.kinesis.streams.s.aws.secretKey",
        "systems.kinesis.streams.s.aws.kcl.TableName",
        "systems.kinesis.aws.clientConfig.ProxyHost",
        "systems.es.client.factory",
        "systems.es.index.request.factory",
        "systems.es.client.transport.host",
        "systems.es.client.transport.port",
        "systems.es.client.elasticsearch.cluster.name",
        "systems.es.bulk.flush.max.actions",
        "systems.es.bulk.flush.max.size.mb",
        "systems.es.bulk.flush.interval.ms",
        "sensitive.systems.blob.azureblob.account.name",
        "sensitive.systems.blob.azureblob.account.key",
        "systems.blob.azureblob.proxy.use",
        "systems.blob.azureblob.proxy.hostname",
        "systems.blob.azureblob.proxy.port",
        "systems.blob.azureblob.writer.factory.class",
        "systems.blob.azureblob.compression.type",
        "systems.blob.azureblob.maxFlushThresholdSize",
        "systems.blob.azureblob.maxBlobSize",
        "systems.blob.azureblob.maxMessagesPerBlob",
        "systems.blob.azureblob.initBufferSize.bytes",
        "systems.blob.azureblob.threadPoolCount",
        "systems.blob.azureblob.blockingQueueSize",
        "systems.blob.azureblob.flushTimeoutMs",
        "systems.blob.azureblob.closeTimeoutMs",
        "systems.blob.azureblob.suffixRandomStringToBlobName",
        "systems.blob.azureblob.metadataPropertiesGeneratorFactory",
        "systems.blob.azureblob.metadataGeneratorConfig.k",
        "systems.blob.azureblob.useTokenCredentialAuthentication",
        "systems.blob.azureblob.client.id",
        "systems.blob.azureblob.client.secret",
        "systems.blob.azureblob.tenant.id",
        "systems.blob.azureblob.authProxy.use",
        "systems.blob.azureblob.authProxy.hostName",
        "systems.blob.azureblob.authProxy.port",
        "stores.s.factory",
        "stores.s.key.serde",
        "stores.s.msg.serde",
        "stores.s.changelog",
        "stores.s.changelog.max.message.size.bytes",
        "stores.s.disallow.large.messages",
        "stores.s.drop.large.messages",
        "stores.s.rocksdb.ttl.ms",
        "job.logged.store.base.dir",
        "job.non-logged.store.base.dir",
        "stores.default.changelog.min.compaction.lag.ms",
        "stores.s.changelog.min.compaction.lag.ms",
        "stores.default.changelog.replication.factor",
        "stores.s.changelog.replication.factor",
        "stores.s.changelog.kafka.cleanup.policy",
        "stores.s.write.batch.size",
        "stores.s.object.cache.size",
        "stores.s.container.cache.size.bytes",
        "stores.s.container.write.buffer.size.bytes",
        "stores.s.rocksdb.compression",
        "stores.s.rocksdb.block.size.bytes",
        "stores.s.rocksdb.compaction.style",
        "stores.s.rocksdb.num.write.buffers",
        "stores.default.rocksdb.max.manifest.file.size",
        "stores.s.side.inputs",
        "stores.s.side.inputs.processor.factory",
        "yarn.package.path",
        "job.container.count",
        "cluster-manager.container.memory.mb",
        "cluster-manager.container.cpu.cores",
        "yarn.am.high-availability.enabled",
        "cluster-manager.container.retry.count",
        "cluster-manager.container.retry.window.ms",
        "cluster-manager.container.preferred-host.last.retry.delay.ms",
        "cluster-manager.container.fail.job.after.retries",
        "cluster-manager.jobcoordinator.jmx.enabled",
        "cluster-manager.allocator.sleep.ms",
        "cluster-manager.container.request.timeout.ms",
        "cluster-manager.fault-domain-aware.standby.enabled",
        "cluster-manager.fault-domain-manager.factory",
        "task.execute",
        "task.java.home",
        "yarn.am.container.memory.mb",
        "yarn.resources.r.local.name",
        "app.runner.class",
        "job.coordinator.factory",
        "job.coordinator.zk.connect",
        "azure.storage.connect",
        "job.coordinator.azure.blob.length",
        "job.coordinator.zk.session.timeout.ms",
        "job.coordinator.zk.connection.timeout.ms",
        "job.coordinator.zk.consensus.timeout.ms",
        "job.debounce.time.ms",
        "job.coordinator.zk.enable-startup-with-active-job-model",
        "metrics.reporter.snapshot.class",
        "metrics.reporters",
        "metrics.reporter.snapshot.stream",
        "metrics.reporter.snapshot.interval",
    ];

    #[test]
    fn samza_documented_keys_are_not_typos() {
        let typos: Vec<String> = DOCUMENTED
            .iter()
            .filter_map(|k| match classify(k) {
                KeyVerdict::Typo(meant) => Some(format!("{k} -> {meant}")),
                _ => None,
            })
            .collect();
        assert!(typos.is_empty(), "{typos:#?}");
    }
}
