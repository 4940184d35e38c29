//! The manifest layer against the real chart renders in the repository's test corpus (`tests/corpus/charts`):
//! Helm 3 output and exactly what Helm 4 pipes to a post-renderer, plus `big.yaml`, the 12 MB concatenation
//! that `tests/corpus/charts/big.list` describes (built here, not committed).

use std::path::PathBuf;

use super::{Flavor, Stream};

/// The chart renders of the test corpus.
fn charts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/charts")
}

/// `big.yaml`: the renders named in `big.list`, concatenated in that order.
fn big_yaml() -> Vec<u8> {
    let dir = charts_dir();
    let list = std::fs::read_to_string(dir.join("big.list"))
        .unwrap_or_else(|e| panic!("{}/big.list: {e}", dir.display()));
    let mut big = Vec::new();
    for name in list.lines().filter(|l| !l.trim().is_empty()) {
        let path = dir.join(name.trim());
        big.extend(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    big
}

/// Every `*.yaml` of the chart corpus with its bytes, and `big.yaml`, sorted by name.
pub(super) fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = charts_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the chart corpus is missing at {} ({e})", dir.display()));
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    assert_eq!(
        files.len(),
        24,
        "expected the 24 chart renders in {}",
        dir.display()
    );
    files.push(("big.yaml".to_owned(), big_yaml()));
    files.sort();
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
