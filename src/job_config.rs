//! A job's Samza config as helm-samza is given it: the `job.properties` or `job.yaml` of the job's config
//! ConfigMap (with an optional embedded `samza.lock`), or a config file for `helm-samza model`.
//!
//! Reading happens here once; every command and the pipeline work with the typed `samza::Config` after that.

use std::path::Path;

use serde_json::Value;

use crate::{
    error::{Error, JobOrigin, Result},
    job,
    lock::{Lock, LockedJob},
    samza::Config,
};

/// The Samza config from the ConfigMap's `job.properties` or `job.yaml`, plus an embedded `samza.lock`.
pub fn read_config(value: &Value, origin: &JobOrigin) -> Result<(Config, Option<LockedJob>)> {
    let data = value.get("data").and_then(Value::as_object);
    for key in [
        job::CONFIG_KEY_PROPERTIES,
        job::CONFIG_KEY_YAML,
        job::CONFIG_KEY_LOCK,
    ] {
        if let Some(found) = data.and_then(|d| d.get(key)) {
            if !found.is_string() {
                return Err(Error::Job {
                    origin: origin.clone(),
                    message: format!("data.{key} must be a string (the file's text), not {found}"),
                });
            }
        }
    }
    let get = |key: &str| data.and_then(|d| d.get(key)).and_then(Value::as_str);
    let config = match (get(job::CONFIG_KEY_PROPERTIES), get(job::CONFIG_KEY_YAML)) {
        (Some(text), None) => Config::from_properties(text).map_err(|source| Error::Samza {
            origin: JobOrigin(format!("{origin}, data.{}", job::CONFIG_KEY_PROPERTIES)),
            source,
        })?,
        (None, Some(text)) => config_from_yaml(text).map_err(|message| Error::Job {
            origin: JobOrigin(format!("{origin}, data.{}", job::CONFIG_KEY_YAML)),
            message,
        })?,
        (Some(_), Some(_)) => {
            return Err(Error::Job {
                origin: origin.clone(),
                message: format!(
                    "the config ConfigMap has both data.{} and data.{}; keep one",
                    job::CONFIG_KEY_PROPERTIES,
                    job::CONFIG_KEY_YAML
                ),
            })
        }
        (None, None) => {
            return Err(Error::Job {
                origin: origin.clone(),
                message: format!(
                    "the config ConfigMap has neither data.{} nor data.{}",
                    job::CONFIG_KEY_PROPERTIES,
                    job::CONFIG_KEY_YAML
                ),
            })
        }
    };
    let lock = match get(job::CONFIG_KEY_LOCK) {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => {
            let lock = Lock::parse(text).map_err(|message| Error::Job {
                origin: JobOrigin(format!("{origin}, data.{}", job::CONFIG_KEY_LOCK)),
                message,
            })?;
            let name = value
                .pointer(&format!(
                    "/metadata/labels/{}",
                    job::LABEL_JOB.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .unwrap_or_default();
            lock.jobs.get(name).cloned()
        }
    };
    Ok((config, lock))
}

/// A Samza config given as a YAML (or JSON) map of keys to scalar values.
pub fn config_from_yaml(text: &str) -> std::result::Result<Config, String> {
    let value: Value = serde_saphyr::from_str_with_options(text, crate::manifest::go_options())
        .map_err(|e| format!("not a YAML map of Samza config keys: {e}"))?;
    let Value::Object(map) = value else {
        return Err("not a YAML map of Samza config keys to values".into());
    };
    let mut entries = indexmap::IndexMap::new();
    for (key, value) in map {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            other => {
                return Err(format!(
                    "key '{key}': Samza config values are strings, numbers or booleans, not {}",
                    if other.is_array() { "a list" } else { "a map" }
                ))
            }
        };
        entries.insert(key, text);
    }
    Ok(Config::from_map(entries))
}

/// Reads a Samza config file: `.properties` by default, a YAML/JSON map for `.yaml`, `.yml` and `.json`.
///
/// A `.properties` file is decoded as ISO-8859-1, byte for byte, as Samza's `PropertiesConfigLoader` reads it
/// (`Properties.load(InputStream)`): non-ASCII text belongs in `\uXXXX` escapes, and a UTF-8 `é` means the
/// two characters Samza sees, `Ã©`. (A config in a ConfigMap is YAML text, already characters.)
pub fn read_config_file(path: &Path) -> Result<Config> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let origin = JobOrigin(path.display().to_string());
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml" | "json") => {
            let text = String::from_utf8(bytes).map_err(|e| Error::Job {
                origin: origin.clone(),
                message: format!("not UTF-8 text: {e}"),
            })?;
            config_from_yaml(&text).map_err(|message| Error::Job { origin, message })
        }
        _ => {
            let text = crate::samza::properties::decode_latin1(bytes);
            Config::from_properties(&text).map_err(|source| Error::Samza { origin, source })
        }
    }
}
