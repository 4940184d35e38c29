//! Templating of opted-in resources: string values rendered with minijinja, the job's plan as context.
//!
//! The delimiters are `[[ ]]` (values), `[% %]` (blocks) and `[# #]` (comments), so Go templates' `{{ }}` that a
//! chart may carry through to other tools pass untouched. A scalar that is exactly one `[[ expression ]]` keeps
//! the type of the expression's value (an int stays an int); anything else renders to a string. Undefined names
//! are errors, and every render is bounded: fuel for the engine, a cap on the output size.

use std::{collections::BTreeMap, io::Write};

use minijinja::{syntax::SyntaxConfig, Environment, UndefinedBehavior, Value};
use serde_json::json;

use crate::samza::{Plan, SystemStream};

/// Instructions one scalar's template may execute.
const FUEL: u64 = 100_000;
/// Bytes one scalar may render to.
const MAX_OUTPUT: usize = 256 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

impl TemplateError {
    fn new(message: impl Into<String>) -> Self {
        TemplateError {
            message: message.into(),
        }
    }
}

/// What templates see as `job` (and as `jobs.NAME`): the planned model's numbers, the input counts it was
/// computed with and the changelog topics it needs (documented in docs/conventions.md).
pub fn job_context(
    name: &str,
    plan: &Plan,
    counts: &BTreeMap<SystemStream, u32>,
    digest: &str,
) -> serde_json::Value {
    let model = &plan.model;
    let inputs: serde_json::Map<String, serde_json::Value> =
        counts.iter().map(|(ss, n)| (ss.name(), json!(n))).collect();
    let changelogs: Vec<serde_json::Value> = plan
        .changelog_topics
        .iter()
        .map(|t| {
            json!({"system": t.system, "name": t.name, "partitions": t.partitions,
                   "replication_factor": t.replication_factor, "properties": t.properties})
        })
        .collect();
    json!({
        "name": name,
        "containers": model.active_container_count(),
        "container_ids": model.containers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        "tasks": model.tasks().count(),
        "inputs": inputs,
        "changelog_partitions": model.max_changelog_partitions(),
        "changelog_topics": changelogs,
        "model_digest": digest,
    })
}

pub struct TemplateEngine {
    env: Environment<'static>,
}

impl Default for TemplateEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateEngine {
    pub fn new() -> Self {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .block_delimiters("[%", "%]")
            .variable_delimiters("[[", "]]")
            .comment_delimiters("[#", "#]")
            .keep_trailing_newline(true)
            .build()
            .expect("fixed delimiters are valid");
        env.set_syntax(syntax);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        TemplateEngine { env }
    }

    /// Does this text contain template syntax at all? Cheap; decides whether a scalar is touched.
    pub fn is_template(text: &str) -> bool {
        text.contains("[[") || text.contains("[%") || text.contains("[#")
    }

    /// Renders one scalar. `Ok(None)` when the text holds no template syntax (leave the scalar as it is).
    pub fn render_scalar(
        &self,
        text: &str,
        context: &Value,
    ) -> Result<Option<serde_json::Value>, TemplateError> {
        if !Self::is_template(text) {
            return Ok(None);
        }
        if let Some(expr) = single_expression(text) {
            let compiled = self
                .env
                .compile_expression(expr)
                .map_err(|e| TemplateError::new(describe(&e)))?;
            let value = compiled
                .eval(context)
                .map_err(|e| TemplateError::new(describe(&e)))?;
            if value.is_undefined() {
                return Err(TemplateError::new(format!(
                    "undefined value: `{expr}` is undefined"
                )));
            }
            // The same cap as a rendered template: a value is written into the manifest as it is.
            if value.as_str().is_some_and(|s| s.len() > MAX_OUTPUT) {
                return Err(too_large());
            }
            return to_json(&value).map(Some);
        }
        let template = self
            .env
            .template_from_str(text)
            .map_err(|e| TemplateError::new(describe(&e)))?;
        let mut out = LimitedWriter::default();
        template
            .render_captured_to(context, &mut out)
            .map_err(|e| {
                if out.overflowed {
                    too_large()
                } else {
                    TemplateError::new(describe(&e))
                }
            })?;
        let text = String::from_utf8(out.buf)
            .map_err(|_| TemplateError::new("renders to invalid UTF-8"))?;
        Ok(Some(serde_json::Value::String(text)))
    }
}

fn too_large() -> TemplateError {
    TemplateError::new(format!(
        "renders to more than {MAX_OUTPUT} bytes (256 KiB), the limit for one value; \
         produce less text, or keep large data out of templated values"
    ))
}

/// `[[ expr ]]` and nothing else (surrounding whitespace aside): the expression text.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("[[")?.strip_suffix("]]")?;
    if inner.contains("[[") || inner.contains("]]") || inner.contains("[%") || inner.contains("[#")
    {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner.trim())
}

fn to_json(value: &Value) -> Result<serde_json::Value, TemplateError> {
    use minijinja::value::ValueKind;
    Ok(match value.kind() {
        ValueKind::Undefined | ValueKind::None => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(value.is_true()),
        ValueKind::Number => {
            if let Ok(i) = i64::try_from(value.clone()) {
                serde_json::Value::from(i)
            } else if let Ok(f) = f64::try_from(value.clone()) {
                serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| TemplateError::new(format!("{value} is not a finite number")))?
            } else {
                serde_json::Value::String(value.to_string())
            }
        }
        ValueKind::String => {
            serde_json::Value::String(value.as_str().unwrap_or_default().to_string())
        }
        kind => {
            return Err(TemplateError::new(format!(
                "the expression gives a {kind}, which cannot stand in a single YAML scalar; \
                 join it into a string (e.g. `[[ x | join(\",\") ]]`)"
            )))
        }
    })
}

/// minijinja's message plus its detail, on one line.
fn describe(err: &minijinja::Error) -> String {
    let mut text = err.kind().to_string();
    if let Some(detail) = err.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if matches!(
        err.kind(),
        minijinja::ErrorKind::SyntaxError | minijinja::ErrorKind::InvalidOperation
    ) {
        // Shell's `[[ -f x ]]` is the usual culprit in an opted-in resource.
        text.push_str(
            " (if this text is not meant as a template, wrap it in [% raw %]...[% endraw %])",
        );
    }
    if matches!(err.kind(), minijinja::ErrorKind::OutOfFuel) {
        text.push_str(&format!(" (limit: {FUEL} steps per value)"));
    }
    text
}

#[derive(Default)]
struct LimitedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(std::io::Error::other("template output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        Value::from(minijinja::value::Serde(
            json!({"job": {"name": "wiki", "containers": 3, "inputs": {"kafka.edits": 8}}}),
        ))
    }

    #[test]
    fn single_expression_keeps_type() {
        let e = TemplateEngine::new();
        assert_eq!(
            e.render_scalar("[[ job.containers ]]", &ctx()).unwrap(),
            Some(json!(3))
        );
        assert_eq!(
            e.render_scalar("[[ job.containers > 2 ]]", &ctx()).unwrap(),
            Some(json!(true))
        );
        assert_eq!(
            e.render_scalar("[[ job.name ]]", &ctx()).unwrap(),
            Some(json!("wiki"))
        );
    }

    #[test]
    fn mixed_text_renders_to_string() {
        let e = TemplateEngine::new();
        assert_eq!(
            e.render_scalar("n=[[ job.containers ]]", &ctx()).unwrap(),
            Some(json!("n=3"))
        );
        assert_eq!(
            e.render_scalar(
                "[% for k, v in job.inputs|items %][[k]]:[[v]][% endfor %]",
                &ctx()
            )
            .unwrap(),
            Some(json!("kafka.edits:8"))
        );
    }

    #[test]
    fn go_templates_and_plain_text_are_left_alone() {
        let e = TemplateEngine::new();
        assert_eq!(e.render_scalar("{{ .Values.x }}", &ctx()).unwrap(), None);
        assert_eq!(e.render_scalar("plain", &ctx()).unwrap(), None);
    }

    #[test]
    fn undefined_names_are_errors() {
        let e = TemplateEngine::new();
        let err = e.render_scalar("[[ job.missing ]]", &ctx()).unwrap_err();
        assert!(err.message.contains("undefined"), "{}", err.message);
        let err = e.render_scalar("x [[ nope ]]", &ctx()).unwrap_err();
        assert!(err.message.contains("undefined"), "{}", err.message);
    }

    #[test]
    fn work_and_output_are_bounded() {
        let e = TemplateEngine::new();
        let err = e
            .render_scalar(
                "[% for i in range(100000) %][% for j in range(100000) %][% endfor %][% endfor %]",
                &ctx(),
            )
            .unwrap_err();
        assert!(err.message.contains("fuel"), "{}", err.message);
        let err = e
            .render_scalar(
                r#"[% for i in range(300) %][[ "x" * 1000 ]][% endfor %]"#,
                &ctx(),
            )
            .unwrap_err();
        assert!(err.message.contains("more than"), "{}", err.message);
        // A value that is one expression is held to the same cap (the expression is not a rendered template).
        for text in [r#"[[ "x" * 100000000 ]]"#, r#"  [[- "ab" * 131073 -]]  "#] {
            let err = e.render_scalar(text, &ctx()).unwrap_err();
            assert!(
                err.message.contains("more than 262144 bytes"),
                "{text}: {}",
                err.message
            );
        }
        let fits = e
            .render_scalar(r#"[[ "x" * 262144 ]]"#, &ctx())
            .unwrap()
            .unwrap();
        assert_eq!(fits.as_str().map(str::len), Some(262_144));
    }

    #[test]
    fn shell_brackets_get_a_hint() {
        let e = TemplateEngine::new();
        let err = e
            .render_scalar("if [[ -f /x ]]; then run; fi", &ctx())
            .unwrap_err();
        assert!(err.message.contains("[% raw %]"), "{}", err.message);
        let ok = e
            .render_scalar("[% raw %]if [[ -f /x ]]; then run; fi[% endraw %]", &ctx())
            .unwrap();
        assert_eq!(ok, Some(serde_json::json!("if [[ -f /x ]]; then run; fi")));
    }

    #[test]
    fn structured_values_need_an_explicit_join() {
        let e = TemplateEngine::new();
        let err = e.render_scalar("[[ job.inputs ]]", &ctx()).unwrap_err();
        assert!(err.message.contains("join"), "{}", err.message);
    }
}
