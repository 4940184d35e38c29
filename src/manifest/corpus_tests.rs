//! The manifest layer against the real chart renders in the shared corpus: Helm 3 output and
//! exactly what Helm 4 pipes to a post-renderer.

use std::path::PathBuf;

use super::{Flavor, Stream};

/// The shared reference folder: `$HELM_SAMZA_SHARED`, else `<repo>/../shared`.
fn shared_dir() -> PathBuf {
    std::env::var_os("HELM_SAMZA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Every `*.yaml` of the chart corpus with its bytes, sorted by name.
pub(super) fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = shared_dir().join("corpus/charts");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the chart corpus is missing at {} ({e}); set HELM_SAMZA_SHARED",
            dir.display()
        )
    });
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the full chart corpus in {}",
        dir.display()
    );
    files
}

#[test]
fn every_corpus_file_round_trips_byte_for_byte() {
    for (name, bytes) in corpus() {
        let stream = Stream::from_bytes(&bytes).unwrap();
        assert!(stream.documents().len() > 5, "{name}: too few documents");
        let mut out = Vec::with_capacity(bytes.len());
        stream.write(&mut out).unwrap();
        assert!(out == bytes, "{name}: output differs from input");
    }
}

#[test]
fn corpus_documents_know_their_template_and_kind() {
    for (name, bytes) in corpus() {
        let expected = if name.ends_with("-helm3.yaml") {
            Flavor::Helm3
        } else if name.ends_with("-helm4-postrender-input.yaml") {
            Flavor::Helm4
        } else {
            continue;
        };
        let stream = Stream::from_bytes(&bytes).unwrap();
        assert_eq!(stream.flavor(), expected, "{name}");
        for doc in stream.documents() {
            if doc.is_blank() {
                continue;
            }
            let source = stream.source_of(doc.index());
            assert!(
                source.as_deref().is_some_and(|s| s.contains("/templates/")
                    || s.contains("/crds/")
                    || s.contains("/charts/")),
                "{name} document {}: source {source:?}",
                doc.index()
            );
            // Full parses are slow in debug builds; Helm 4 inputs are small and cover kyaml's
            // re-serialized form, the least regular of the two.
            if expected == Flavor::Helm4 {
                let head = doc.head().unwrap().unwrap();
                assert_eq!(
                    doc.kind_hint(),
                    Some(head.kind.as_str()),
                    "{name} document {}",
                    doc.index()
                );
                assert_eq!(head.source, doc.source(), "{name} document {}", doc.index());
            }
        }
    }
}
