//! SZ1xx: the Samza config of a job, read as Samza's config classes read it: where Samza has a rule (store
//! names, persistent stores, a store's changelog stream, input and broadcast stream syntax), the check asks
//! `samza::Config` / `samza::stream` instead of restating it, so lint and the planner cannot disagree.
//!
//! Jobs written against the high-level API (`app.class`) declare systems, streams and default systems in
//! code (descriptors) and Samza's planner writes the matching keys at run time; for them the checks that need
//! the complete list of systems are skipped rather than guessed.

use std::collections::BTreeSet;

use crate::samza::{stream, SamzaError};

use super::catalogue::{
    CHANGELOG_WITHOUT_SYSTEM, MISSING_REQUIRED_KEY, UNDEFINED_SERDE, UNDEFINED_SYSTEM,
    UNKNOWN_GROUPER, UNKNOWN_KEY,
};
use super::config_keys::{classify, closest, KeyVerdict, SSP_GROUPERS, TASK_GROUPERS};
use super::{Findings, JobContext};

fn high_level_api(ctx: &JobContext) -> bool {
    ctx.config("app.class")
        .is_some_and(|v| !v.trim().is_empty())
}

pub(crate) fn check(ctx: &JobContext, out: &mut Findings) {
    required_keys(ctx, out);
    unknown_keys(ctx, out);
    if !high_level_api(ctx) {
        systems(ctx, out);
        changelog_systems(ctx, out);
    }
    serdes(ctx, out);
    groupers(ctx, out);
}

fn set(ctx: &JobContext, key: &str) -> bool {
    ctx.config(key).is_some_and(|v| !v.trim().is_empty())
}

fn required_keys(ctx: &JobContext, out: &mut Findings) {
    let doc = ctx.job.config_doc;
    let mut missing = |key: &str, why: &str| {
        out.push(
            &MISSING_REQUIRED_KEY,
            ctx.name(),
            doc,
            Some(ctx.config_field(key)),
            format!("'{key}' is not set: {why}"),
        );
    };
    if !set(ctx, "job.name") && !set(ctx, "app.name") {
        missing("job.name", "Samza names the job, its coordinator stream and its checkpoint topic after it (or set 'app.name')");
    }
    if !set(ctx, "task.class") && !high_level_api(ctx) {
        missing(
            "task.class",
            "the job has no StreamTask to run (or set 'app.class' for the high-level API)",
        );
    }
    if !high_level_api(ctx) {
        if !set(ctx, "job.coordinator.system") && !set(ctx, "job.default.system") {
            missing(
                "job.coordinator.system",
                "Samza needs a system for the coordinator stream (or set 'job.default.system')",
            );
        }
        if !set(ctx, "task.inputs") && !set(ctx, "job.config.rewriters") {
            missing(
                "task.inputs",
                "the job has no inputs, so no tasks (list them as system.stream, comma-separated)",
            );
        }
    }
}

fn unknown_keys(ctx: &JobContext, out: &mut Findings) {
    for (key, _) in ctx.job.config.iter() {
        if let KeyVerdict::Typo(meant) = classify(key) {
            out.push(
                &UNKNOWN_KEY,
                ctx.name(),
                ctx.job.config_doc,
                Some(ctx.config_field(key)),
                format!("unknown key '{key}'; did you mean '{meant}'? Samza ignores keys it does not read"),
            );
        }
    }
}

/// `systems.<sys>.samza.factory` names.
fn defined_systems(ctx: &JobContext) -> BTreeSet<String> {
    ctx.job
        .config
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("systems.")?.strip_suffix(".samza.factory"))
        .map(str::to_owned)
        .collect()
}

fn systems(ctx: &JobContext, out: &mut Findings) {
    let defined = defined_systems(ctx);
    let mut report = |key: &str, system: &str, what: String| {
        if !defined.contains(system) {
            let known = if defined.is_empty() {
                "no system is defined".to_owned()
            } else {
                format!(
                    "defined: {}",
                    defined.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            out.push(
                &UNDEFINED_SYSTEM,
                ctx.name(),
                ctx.job.config_doc,
                Some(ctx.config_field(key)),
                format!("{what} names system '{system}', but no 'systems.{system}.samza.factory' defines it ({known})"),
            );
        }
    };
    // The streams as Samza reads them (`TaskConfig`); a value Samza cannot read is the planner's refusal,
    // reported on its own.
    if let Ok(inputs) = stream::parse_inputs(ctx.config("task.inputs"), "task.inputs") {
        for ss in inputs {
            report("task.inputs", &ss.system, format!("input '{}'", ss.name()));
        }
    }
    if let Ok(broadcast) = stream::parse_broadcast(ctx.config("task.broadcast.inputs")) {
        for ss in stream::broadcast_streams(&broadcast) {
            report(
                "task.broadcast.inputs",
                &ss.system,
                format!("broadcast input '{}'", ss.name()),
            );
        }
    }
    for key in [
        "job.default.system",
        "job.coordinator.system",
        "job.changelog.system",
        "task.checkpoint.system",
    ] {
        if let Some(system) = ctx.config(key).map(str::trim).filter(|s| !s.is_empty()) {
            report(key, system, format!("'{key}'"));
        }
    }
    for (key, _) in ctx.job.config.iter() {
        let value = ctx.config(key).unwrap_or("").trim();
        let is_store_changelog = key.starts_with("stores.") && key.ends_with(".changelog");
        let is_reporter_stream = key.starts_with("metrics.reporter.") && key.ends_with(".stream");
        if is_store_changelog || is_reporter_stream {
            if let Some((system, _)) = value.split_once('.') {
                report(key, system, format!("stream '{value}'"));
            }
        } else if key.starts_with("streams.") && key.ends_with(".samza.system") && !value.is_empty()
        {
            report(key, value, format!("'{key}'"));
        }
    }
}

fn changelog_systems(ctx: &JobContext, out: &mut Findings) {
    for store in ctx.job.config.store_names() {
        // `StorageConfig#getChangelogStream` refuses a bare stream name when no system is configured for it.
        if let Err(SamzaError::Config { .. }) = ctx.job.config.store_changelog(store) {
            let key = format!("stores.{store}.changelog");
            let value = ctx.config(&key).unwrap_or_default().trim();
            out.push(
                &CHANGELOG_WITHOUT_SYSTEM,
                ctx.name(),
                ctx.job.config_doc,
                Some(ctx.config_field(&key)),
                format!(
                    "store '{store}' logs to '{value}' without a system, and neither 'job.changelog.system' nor \
                     'job.default.system' is set"
                ),
            );
        }
    }
}

fn serdes(ctx: &JobContext, out: &mut Findings) {
    let defined: BTreeSet<&str> = ctx
        .job
        .config
        .iter()
        .filter_map(|(k, _)| {
            let rest = k.strip_prefix("serializers.registry.")?;
            rest.strip_suffix(".class")
                .or_else(|| rest.strip_suffix(".samza.serialized.instance"))
        })
        .collect();
    for (key, value) in &ctx.job.config {
        let is_serde_ref = key.ends_with(".key.serde") || key.ends_with(".msg.serde");
        let family = key.starts_with("stores.")
            || key.starts_with("systems.")
            || key.starts_with("streams.");
        let name = value.trim();
        if is_serde_ref && family && !name.is_empty() && !defined.contains(name) {
            out.push(
                &UNDEFINED_SERDE,
                ctx.name(),
                ctx.job.config_doc,
                Some(ctx.config_field(key)),
                format!(
                    "serde '{name}' is used but 'serializers.registry.{name}.class' is not set"
                ),
            );
        }
    }
}

fn groupers(ctx: &JobContext, out: &mut Findings) {
    let slots = [
        (
            "job.systemstreampartition.grouper.factory",
            SSP_GROUPERS,
            TASK_GROUPERS,
            "an SSP grouper",
            "a task-name grouper (key 'task.name.grouper.factory')",
        ),
        (
            "task.name.grouper.factory",
            TASK_GROUPERS,
            SSP_GROUPERS,
            "a task-name grouper",
            "an SSP grouper (key 'job.systemstreampartition.grouper.factory')",
        ),
    ];
    for (key, known, other, wants, other_is) in slots {
        let Some(value) = ctx.config(key).map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        if known.contains(&value) {
            continue;
        }
        let message = if other.contains(&value) {
            format!(
                "'{value}' is {other_is}; '{key}' takes {wants}: {}",
                known.join(", ")
            )
        } else if let Some(meant) = closest(value, known) {
            format!("grouper factory '{value}' does not exist; did you mean '{meant}'?")
        } else {
            format!(
                "grouper factory '{value}' is not one of Samza's: {}",
                known.join(", ")
            )
        };
        out.push(
            &UNKNOWN_GROUPER,
            ctx.name(),
            ctx.job.config_doc,
            Some(ctx.config_field(key)),
            message,
        );
    }
}
