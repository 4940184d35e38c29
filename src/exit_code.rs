//! The documented exit codes of every `helm-samza` command, as named constants (nextest's `NextestExitCode`).
//!
//! Helm 4 hides a post-renderer's stderr but keeps its exit status in the error chain, so each class of failure
//! gets its own number. The table is printed by `--help` and listed in `docs/exit-codes.md`.

/// Success. Also a broken pipe on stdout: the reader went away, nothing was wrong with the input.
pub const OK: i32 = 0;
/// `lint`: findings at or above the fail level. Other commands: an unexpected failure.
pub const FINDINGS: i32 = 1;
/// `plan --detailed-exitcode`: the plan has changes (helm-diff's convention).
pub const CHANGES: i32 = 2;
/// A Samza config value Samza itself would reject (names the key).
pub const CONFIG: i32 = 10;
/// Samza would refuse to build this job model (e.g. more containers than tasks), or it is too large to compute or
/// to carry in its layout.
pub const MODEL: i32 = 11;
/// Partition counts could not be learned (broker unreachable, topic missing, not authorized, no count given).
pub const PARTITIONS: i32 = 12;
/// The manifest stream is unreadable, or a job's resources are inconsistent (names the document).
pub const MANIFEST: i32 = 13;
/// A template in an opted-in resource failed (names the resource and field).
pub const TEMPLATE: i32 = 14;
/// The safety gate: the change would endanger a stateful job's state.
pub const UNSAFE: i32 = 15;
/// A previous job model, lock file or coordinator stream is unreadable.
pub const PREVIOUS: i32 = 16;
/// `lock --verify-live`: the lock's partition counts differ from Kafka's; `values --check`: the values file no
/// longer matches the job.
pub const DRIFT: i32 = 17;
/// Helm itself failed (`helm template`, `helm get manifest`) in `plan`, `lock` or `lint`.
pub const HELM: i32 = 18;
/// Wrong usage: unknown flag, bad flag value.
pub const USAGE: i32 = 64;
/// A file could not be read or written.
pub const IO: i32 = 74;

/// One line per code, for `--help` and the docs.
pub const TABLE: &str = "\
Exit codes:
   0  success
   1  lint findings at or above the fail level; or an unexpected failure
   2  plan --detailed-exitcode: the plan has changes
  10  Samza config error (the key is named)
  11  job model refused, as Samza would refuse it (e.g. more containers than tasks), or too large
  12  partition counts unavailable (broker, topic or missing --partitions named)
  13  manifest error (the document is named: source file, kind, name)
  14  template error in an opted-in resource (resource and field named)
  15  refused by the safety gate (the change would endanger a job's state)
  16  previous state unreadable (job model, lock file, or the job's coordinator stream)
  17  lock --verify-live / values --check: the lock or values file no longer matches
  18  Helm failed (helm template / helm get manifest); its message follows
  64  usage error
  74  I/O error (the file is named)";
