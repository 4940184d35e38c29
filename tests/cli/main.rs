//! The one integration-test binary: runs the real `helm-samza` (and real Helm and a real broker).
mod support;
mod coordinator;
