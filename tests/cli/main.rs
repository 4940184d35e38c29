//! The one integration-test binary: runs the real `helm-samza` (and real Helm and a real broker).
mod charts;
mod coordinator;
mod coordinator_stream;
mod docs;
mod exit_codes;
mod fidelity;
mod helm;
mod kafka;
mod lint;
mod model;
mod oracle;
mod package;
mod plan;
mod plugin;
mod post_render;
mod secured;
mod support;
