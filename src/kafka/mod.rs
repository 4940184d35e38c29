//! Partition facts from the outside world behind one `PartitionSource` trait. Owned by the kafka work.
