//! `helm samza lint`: checks a post-rendered manifest stream and its Samza job models for mistakes that would
//! deploy a broken or fragile Samza job.
//!
//! The engine is decoupled from the post-render pipeline by plain input structs ([`LintInput`]): `input` builds
//! them from the pipeline's `render::Rendered` value (a test builds them from fixtures), with every document as a
//! JSON value plus, per job, the typed Samza config and the facts of the computed job model (or the planner's
//! refusal). The command line (`helm samza lint`) is `command::lint`. Checks never parse YAML or properties themselves, so
//! they see exactly what the pipeline saw. Every check is a catalogue entry ([`Check`]: id, slug, severity,
//! reason, fix) so that the four output formats, the docs and the disable mechanisms all read one table.
//! Checks live in one file per area: Samza config (SZ1xx), job model (SZ2xx), resources (SZ3xx),
//! operations (SZ4xx) and security (SZ5xx).

mod catalogue;
mod config_keys;
mod input;
mod json;
mod junit;
mod model;
mod operations;
mod pod;
mod resources;
mod samza_config;
mod sarif;
mod security;
mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::samza::Config;

pub use catalogue::{find_check, Check, CHECKS};
pub use json::format_json;
pub use junit::format_junit;
pub use sarif::format_sarif;
pub use text::format_text;

/// Annotation that switches checks off for the resource it is on (or, on a job's config ConfigMap, for the
/// whole job): a comma-separated list of check ids or slugs.
pub const DISABLE_ANNOTATION: &str = "samza.apache.org/lint-disable";

/// Everything the linter looks at: the post-rendered documents and the Samza jobs found among them.
#[derive(Debug, Clone, Default)]
pub struct LintInput {
    /// Every document of the post-rendered stream, empty documents omitted; `LintDoc::index` is the position here.
    pub documents: Vec<LintDoc>,
    pub jobs: Vec<LintJob>,
}

/// One Kubernetes document of the stream.
#[derive(Debug, Clone)]
pub struct LintDoc {
    pub index: usize,
    /// The template that produced it (`# Source:` with Helm 3, the post-render filename annotation with Helm 4).
    pub source: Option<String>,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The whole document as Helm (go-yaml v2) reads it.
    pub value: Value,
    /// Size in bytes of the document's text.
    pub raw_len: usize,
    /// The document's text as rendered (for the line of a finding's field in SARIF).
    pub text: String,
}

/// One Samza job (all resources labelled `samza.apache.org/job: NAME`).
#[derive(Debug, Clone)]
pub struct LintJob {
    pub name: String,
    /// Index into `documents` of the config ConfigMap.
    pub config_doc: Option<usize>,
    /// Worker StatefulSets: active first, then standby.
    pub worker_docs: Vec<usize>,
    pub coordinator_docs: Vec<usize>,
    /// The Samza config as parsed from `data.job.properties` or `data.job.yaml`; checks ask its rules
    /// (`samza::Config`) rather than restating them.
    pub config: Config,
    /// The planned model, or the planner's refusal (e.g. more containers than tasks).
    pub model: Result<ModelFacts, String>,
}

/// What the linter needs to know of a computed job model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFacts {
    /// Active containers.
    pub containers: usize,
    /// Active container id → number of tasks.
    pub tasks_per_container: Vec<(String, usize)>,
    /// Active tasks.
    pub tasks: usize,
    /// Samza's `max-change-log-stream-partitions`.
    pub max_changelog_partitions: u32,
    /// Physical names of the job's changelog topics.
    pub changelog_topics: Vec<String>,
    /// The job has changelogged stores.
    pub stateful: bool,
    /// What the safety gate found against the previous state the render knew (`[id] message`, and its source).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hazards: Vec<String>,
    /// The length of the model's JSON: what the coordinator holds (and, carried as inputs, computes).
    #[serde(default)]
    pub json_bytes: u64,
}

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity '{other}' (expected error, warning or info)"
            )),
        }
    }
}

/// What the user chose on the command line.
#[derive(Debug, Clone)]
pub struct LintSettings {
    /// Check ids (`SZ301`) or slugs (`heap-headroom`) not to run; case-insensitive.
    pub disabled: BTreeSet<String>,
    /// Findings at or above this severity fail the lint.
    pub fail_level: Severity,
    /// `--strict`: warnings fail too (the effective fail level is at most `Warning`).
    pub strict: bool,
    /// Folder that template paths (`samza-job/templates/x.yaml`, relative to the chart's parent) are relative
    /// to, as seen from where the report is read, e.g. `charts`; SARIF locations are prefixed with it so code
    /// scanning finds the files. The command line sets it from the chart argument.
    pub source_root: Option<String>,
    /// Paint the text report's severities (a terminal, without `--no-color` or `NO_COLOR`).
    pub color: bool,
}

impl Default for LintSettings {
    fn default() -> Self {
        LintSettings {
            disabled: BTreeSet::new(),
            fail_level: Severity::Error,
            strict: false,
            source_root: None,
            color: false,
        }
    }
}

impl LintSettings {
    /// The lowest severity that fails, `--strict` taken into account.
    pub fn effective_fail_level(&self) -> Severity {
        if self.strict {
            self.fail_level.min(Severity::Warning)
        } else {
            self.fail_level
        }
    }

    fn disables(&self, check: &Check) -> bool {
        self.disabled.iter().any(|d| check.is_named(d))
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Check id, e.g. `SZ301`.
    pub check: &'static str,
    /// Check slug, e.g. `heap-exceeds-limit`.
    pub name: &'static str,
    pub severity: Severity,
    pub job: Option<String>,
    /// Index into `LintInput::documents` of the resource the finding is about.
    pub doc: Option<usize>,
    /// The field at fault: a path in the document, or `data.job.properties[KEY]` for Samza config keys.
    pub field: Option<String>,
    pub message: String,
    /// Switched off by a `samza.apache.org/lint-disable` annotation: the reason written there (empty when none).
    /// Such a finding is reported as suppressed and never fails the lint.
    pub suppressed: Option<String>,
}

impl Finding {
    /// The check's one-line reason.
    pub fn reason(&self) -> &'static str {
        find_check(self.check).map(|c| c.reason).unwrap_or("")
    }
}

/// Runs every enabled check and returns the findings that no setting or annotation disables, ordered by job
/// (input order, then resources outside any job), check id, document and field.
pub fn lint(input: &LintInput, settings: &LintSettings) -> Vec<Finding> {
    let mut findings = lint_all(input, settings);
    findings.retain(|f| f.suppressed.is_none());
    findings
}

/// [`lint`], plus the findings a `samza.apache.org/lint-disable` annotation switched off, marked with the reason
/// the annotation gives (`SZ302 (heap set by the platform team)`), for the reports to echo. Checks switched off
/// with `--disable` are not run at all.
pub fn lint_all(input: &LintInput, settings: &LintSettings) -> Vec<Finding> {
    debug_assert!(
        input
            .documents
            .iter()
            .enumerate()
            .all(|(i, d)| d.index == i),
        "LintDoc::index must be the document's position in LintInput::documents"
    );
    let mut out = Findings::default();
    for job in &input.jobs {
        let ctx = JobContext::new(input, job);
        samza_config::check(&ctx, &mut out);
        model::check(&ctx, &mut out);
        resources::check(&ctx, &mut out);
        operations::check(&ctx, &mut out);
        security::check_job(&ctx, &mut out);
    }
    operations::check_documents(input, &mut out);
    security::check_documents(input, &mut out);

    let mut findings: Vec<Finding> = out
        .0
        .into_iter()
        .filter(|f| {
            let check = find_check(f.check).expect("findings come from the catalogue");
            !settings.disables(check)
        })
        .map(|mut f| {
            let check = find_check(f.check).expect("findings come from the catalogue");
            f.suppressed = disabled_by_annotation(input, &f, check);
            f
        })
        .collect();
    let job_pos = |f: &Finding| {
        f.job
            .as_ref()
            .and_then(|j| input.jobs.iter().position(|x| &x.name == j))
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        (job_pos(a), a.check, a.doc, &a.field, &a.message).cmp(&(
            job_pos(b),
            b.check,
            b.doc,
            &b.field,
            &b.message,
        ))
    });
    findings.dedup();
    findings
}

/// 0 when no finding reaches the fail level, 1 otherwise. Usage and input errors have their own codes, set by
/// the command line (see docs/exit-codes.md).
/// Findings about resources of no job in the input (reported under "other resources").
pub(crate) fn unowned<'a>(findings: &'a [Finding], input: &LintInput) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| {
            f.job
                .as_ref()
                .is_none_or(|j| !input.jobs.iter().any(|x| &x.name == j))
        })
        .collect()
}

pub fn exit_code(findings: &[Finding], settings: &LintSettings) -> i32 {
    let level = settings.effective_fail_level();
    if findings
        .iter()
        .any(|f| f.suppressed.is_none() && f.severity >= level)
    {
        1
    } else {
        0
    }
}

/// The annotation on the resource itself, or on the job's config ConfigMap (which speaks for the whole job), that
/// switches `check` off, and the reason it gives: entries are `ID-or-name` or `ID-or-name (reason)`, separated by
/// commas. `None`: not switched off.
fn disabled_by_annotation(input: &LintInput, finding: &Finding, check: &Check) -> Option<String> {
    let reason_in = |doc: usize| {
        let list = input
            .documents
            .get(doc)
            .and_then(|d| annotation(&d.value, DISABLE_ANNOTATION))?;
        list.split(',').find_map(|item| {
            let (name, reason) = match item.split_once('(') {
                Some((name, rest)) => (name, rest.trim().trim_end_matches(')').trim()),
                None => (item, ""),
            };
            check.is_named(name).then(|| reason.to_owned())
        })
    };
    if let Some(reason) = finding.doc.and_then(reason_in) {
        return Some(reason);
    }
    finding
        .job
        .as_ref()
        .and_then(|name| input.jobs.iter().find(|j| &j.name == name))
        .and_then(|j| j.config_doc)
        .and_then(reason_in)
}

/// `metadata.annotations[key]` as a string.
pub(crate) fn annotation<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// `metadata.labels[key]` as a string.
pub(crate) fn label<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// Collects findings; checks push through it so that id, slug and severity always come from the catalogue.
#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn push(
        &mut self,
        check: &'static Check,
        job: Option<&str>,
        doc: Option<usize>,
        field: Option<String>,
        message: String,
    ) {
        self.0.push(Finding {
            suppressed: None,
            check: check.id,
            name: check.slug,
            severity: check.severity,
            job: job.map(str::to_owned),
            doc,
            field,
            message,
        });
    }
}

/// A job and the input it came from: what every job-level check is handed.
pub(crate) struct JobContext<'a> {
    pub input: &'a LintInput,
    pub job: &'a LintJob,
}

impl<'a> JobContext<'a> {
    fn new(input: &'a LintInput, job: &'a LintJob) -> Self {
        JobContext { input, job }
    }

    pub fn name(&self) -> Option<&'a str> {
        Some(self.job.name.as_str())
    }

    pub fn doc(&self, index: usize) -> Option<&'a LintDoc> {
        self.input.documents.get(index)
    }

    pub fn coordinators(&self) -> impl Iterator<Item = &'a LintDoc> + '_ {
        self.job
            .coordinator_docs
            .iter()
            .filter_map(|&i| self.doc(i))
    }

    pub fn workers(&self) -> impl Iterator<Item = &'a LintDoc> + '_ {
        self.job.worker_docs.iter().filter_map(|&i| self.doc(i))
    }

    /// Workers and coordinators: the pods the job runs.
    pub fn workloads(&self) -> impl Iterator<Item = &'a LintDoc> + '_ {
        self.job
            .worker_docs
            .iter()
            .chain(&self.job.coordinator_docs)
            .filter_map(|&i| self.doc(i))
    }

    pub fn config(&self, key: &str) -> Option<&'a str> {
        self.job.config.get(key)
    }

    /// The field name of a Samza config key in the config ConfigMap: `data.job.properties[KEY]`.
    pub fn config_field(&self, key: &str) -> String {
        let data_key = self
            .job
            .config_doc
            .and_then(|i| self.doc(i))
            .and_then(|d| d.value.pointer("/data"))
            .and_then(Value::as_object)
            .and_then(|data| {
                ["job.properties", "job.yaml"]
                    .into_iter()
                    .find(|k| data.contains_key(*k))
            })
            .unwrap_or("job.properties");
        format!("data.{data_key}[{key}]")
    }
}

/// `Kind namespace/name (template)` of a document, for messages.
pub(crate) fn describe_resource(input: &LintInput, doc: Option<usize>) -> Option<String> {
    let d = input.documents.get(doc?)?;
    let mut s = format!("{} ", d.kind);
    if let Some(ns) = &d.namespace {
        s.push_str(ns);
        s.push('/');
    }
    s.push_str(&d.name);
    if let Some(src) = &d.source {
        s.push_str(&format!(" ({src})"));
    }
    Some(s)
}
