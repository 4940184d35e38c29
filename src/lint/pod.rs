//! A read-only view of the pod template inside a workload document, plus the quantities found in it.
//!
//! Resource, operations and security checks all ask the same questions of a StatefulSet or Deployment: where
//! is the pod spec, which container runs Samza, what does its env say, how much memory may it use. Answering
//! them here keeps the field paths in findings identical across checks.

use serde_json::Value;

use super::LintDoc;

/// The pod template of a workload: its spec and the path of that spec in the document.
pub(crate) struct PodView<'a> {
    pub doc: &'a LintDoc,
    pub spec: &'a Value,
    pub path: &'static str,
}

impl<'a> PodView<'a> {
    pub fn of(doc: &'a LintDoc) -> Option<Self> {
        let (pointer, path) = match doc.kind.as_str() {
            "Pod" => ("/spec", "spec"),
            "CronJob" => (
                "/spec/jobTemplate/spec/template/spec",
                "spec.jobTemplate.spec.template.spec",
            ),
            _ => ("/spec/template/spec", "spec.template.spec"),
        };
        doc.value
            .pointer(pointer)
            .filter(|v| v.is_object())
            .map(|spec| PodView { doc, spec, path })
    }

    /// Labels of the pods this template makes.
    pub fn labels(&self) -> Option<&'a serde_json::Map<String, Value>> {
        let pointer = match self.doc.kind.as_str() {
            "Pod" => "/metadata/labels",
            "CronJob" => "/spec/jobTemplate/spec/template/metadata/labels",
            _ => "/spec/template/metadata/labels",
        };
        self.doc.value.pointer(pointer).and_then(Value::as_object)
    }

    pub fn containers(&self) -> Vec<(String, &'a Value)> {
        self.spec
            .get("containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .enumerate()
                    .map(|(i, c)| (format!("{}.containers[{i}]", self.path), c))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The container that runs Samza: the one with `SAMZA_CONTAINER_ID` or `JAVA_OPTS` in its env, else the first.
    pub fn samza_container(&self) -> Option<(String, &'a Value)> {
        let containers = self.containers();
        let pos = containers
            .iter()
            .position(|(_, c)| {
                env_value(c, "SAMZA_CONTAINER_ID").is_some() || env_value(c, "JAVA_OPTS").is_some()
            })
            .unwrap_or(0);
        containers.into_iter().nth(pos)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.spec.get(key)
    }

    pub fn field(&self, rest: &str) -> String {
        format!("{}.{rest}", self.path)
    }
}

/// A literal env value of a container (`valueFrom` entries have none).
pub(crate) fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container
        .get("env")?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
}

/// A Kubernetes quantity (`1024Mi`, `1Gi`, `1.5G`, `500M`, `1e9`, `2048`) in bytes.
pub(crate) fn quantity_bytes(value: &Value) -> Option<u64> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    let (number, factor) = suffixes
        .iter()
        .find_map(|(s, f)| text.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((text.as_str(), 1.0));
    let n: f64 = number.parse().ok()?;
    (n >= 0.0).then(|| (n * factor).round() as u64)
}

/// The JVM's maximum heap from JVM options: the last `-Xmx` wins, as in the JVM. Sizes as Java reads them
/// (`768m`, `2g`, `1048576k`, plain bytes), case-insensitive.
pub(crate) fn xmx_bytes(opts: &str) -> Option<u64> {
    opts.split_whitespace()
        .filter_map(|o| o.strip_prefix("-Xmx"))
        .filter_map(java_size)
        .next_back()
}

fn java_size(text: &str) -> Option<u64> {
    let (digits, factor) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1u64 << 10),
        'm' | 'M' => (&text[..text.len() - 1], 1 << 20),
        'g' | 'G' => (&text[..text.len() - 1], 1 << 30),
        't' | 'T' => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

/// Bytes as a person reads them: `768 MiB`, `1.5 GiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 {
        format!("{} GiB", trim_float(mib / 1024.0))
    } else {
        format!("{} MiB", trim_float(mib))
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_and_java_sizes() {
        assert_eq!(quantity_bytes(&json!("1024Mi")), Some(1 << 30));
        assert_eq!(quantity_bytes(&json!("1Gi")), Some(1 << 30));
        assert_eq!(quantity_bytes(&json!("1.5G")), Some(1_500_000_000));
        assert_eq!(quantity_bytes(&json!(2048)), Some(2048));
        assert_eq!(quantity_bytes(&json!("lots")), None);
        assert_eq!(xmx_bytes("-XX:+UseG1GC -Xmx768m"), Some(768 << 20));
        assert_eq!(xmx_bytes("-Xmx1g -Xmx2G"), Some(2 << 30));
        assert_eq!(xmx_bytes("-Xms1g"), None);
        assert_eq!(human_bytes(768 << 20), "768 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}
