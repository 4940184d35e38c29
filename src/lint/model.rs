//! SZ2xx: the computed job model: refused models, idle and uneven containers, changelog partitions, and changes
//! the safety gate refuses against the previous state (the lock).
//!
//! The facts come from helm-samza's planner, which computes the model exactly as Samza's
//! `JobModelCalculator` would; a refusal here is a job that would never start on the cluster.

use serde_json::Value;

use super::catalogue::{
    CHANGELOG_PARTITIONS_EXCEED_TASKS, CHANGELOG_TOPIC_PARTITIONS, IDLE_CONTAINERS, MODEL_REFUSED,
    UNEVEN_CONTAINERS, UNSAFE_CHANGE,
};
use super::{Findings, JobContext};

pub(crate) fn check(ctx: &JobContext, out: &mut Findings) {
    let model = match &ctx.job.model {
        Ok(model) => model,
        Err(message) => {
            out.push(
                &MODEL_REFUSED,
                ctx.name(),
                ctx.job.config_doc,
                None,
                format!("the job model cannot be computed: {message}"),
            );
            return;
        }
    };
    idle(ctx, model, out);
    uneven(ctx, model, out);
    changelogs(ctx, model, out);
    for hazard in &model.hazards {
        out.push(
            &UNSAFE_CHANGE,
            ctx.name(),
            ctx.job.config_doc,
            None,
            hazard.clone(),
        );
    }
}

/// The container count the config asks for, as `JobConfig#getContainerCount` reads it.
fn requested_containers(ctx: &JobContext) -> Option<(&'static str, usize)> {
    let key = ctx.job.config.container_count_key()?;
    let count = ctx.job.config.container_count().ok()?;
    Some((key, count as usize))
}

fn idle(ctx: &JobContext, model: &super::ModelFacts, out: &mut Findings) {
    let empty: Vec<&str> = model
        .tasks_per_container
        .iter()
        .filter(|(_, n)| *n == 0)
        .map(|(id, _)| id.as_str())
        .collect();
    if !empty.is_empty() {
        out.push(
            &IDLE_CONTAINERS,
            ctx.name(),
            ctx.job.config_doc,
            None,
            format!(
                "container(s) {} get no tasks ({} tasks on {} containers)",
                empty.join(", "),
                model.tasks,
                model.containers
            ),
        );
    }
    // GroupByContainerIds drops container ids beyond the task count instead of failing.
    if let Some((key, requested)) = requested_containers(ctx) {
        if requested > model.containers {
            out.push(
                &IDLE_CONTAINERS,
                ctx.name(),
                ctx.job.config_doc,
                Some(ctx.config_field(key)),
                format!(
                    "'{key}' asks for {requested} containers but the job has only {} tasks, so only {} containers run",
                    model.tasks, model.containers
                ),
            );
        }
    }
}

fn uneven(ctx: &JobContext, model: &super::ModelFacts, out: &mut Findings) {
    let counts: Vec<usize> = model
        .tasks_per_container
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| *n > 0)
        .collect();
    let (Some(&max), Some(&min)) = (counts.iter().max(), counts.iter().min()) else {
        return;
    };
    // At least 25% more tasks on the busiest container.
    if counts.len() < 2 || max * 4 < min * 5 {
        return;
    }
    let busiest = model
        .tasks_per_container
        .iter()
        .find(|(_, n)| *n == max)
        .map(|(id, _)| id.as_str())
        .unwrap_or("?");
    let idlest = model
        .tasks_per_container
        .iter()
        .find(|(_, n)| *n == min)
        .map(|(id, _)| id.as_str())
        .unwrap_or("?");
    let even: Vec<String> = (1..=model.tasks)
        .filter(|d| model.tasks % d == 0)
        .map(|d| d.to_string())
        .collect();
    out.push(
        &UNEVEN_CONTAINERS,
        ctx.name(),
        ctx.job.config_doc,
        requested_containers(ctx).map(|(k, _)| ctx.config_field(k)),
        format!(
            "container {busiest} has {max} tasks and container {idlest} has {min}: {} tasks do not divide evenly over \
             {} containers; counts that do: {}",
            model.tasks,
            model.containers,
            even.join(", ")
        ),
    );
}

fn changelogs(ctx: &JobContext, model: &super::ModelFacts, out: &mut Findings) {
    if model.stateful && model.max_changelog_partitions as usize > model.tasks {
        out.push(
            &CHANGELOG_PARTITIONS_EXCEED_TASKS,
            ctx.name(),
            ctx.job.config_doc,
            None,
            format!(
                "changelog topics have {} partitions but the job has {} tasks: partitions {}..{} belong to tasks \
                 that no longer exist",
                model.max_changelog_partitions,
                model.tasks,
                model.tasks,
                model.max_changelog_partitions - 1
            ),
        );
    }
    for doc in &ctx.input.documents {
        let strimzi = doc.kind == "KafkaTopic"
            && doc
                .value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("kafka.strimzi.io/"));
        if !strimzi {
            continue;
        }
        let topic = doc
            .value
            .pointer("/spec/topicName")
            .and_then(Value::as_str)
            .unwrap_or(&doc.name);
        if !model.changelog_topics.iter().any(|t| t == topic) {
            continue;
        }
        let partitions = doc.value.pointer("/spec/partitions").and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        if partitions != Some(u64::from(model.max_changelog_partitions)) {
            let has = partitions.map_or_else(
                || "no partition count".to_owned(),
                |p| format!("{p} partitions"),
            );
            out.push(
                &CHANGELOG_TOPIC_PARTITIONS,
                ctx.name(),
                Some(doc.index),
                Some("spec.partitions".to_owned()),
                format!(
                    "changelog topic '{topic}' has {has} but the job model needs {} (max-change-log-stream-partitions); \
                     Samza stops with \"Mismatch of partitions for stream\"",
                    model.max_changelog_partitions
                ),
            );
        }
    }
}
