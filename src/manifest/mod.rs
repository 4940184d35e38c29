//! Helm's rendered manifest stream: split into documents, read their heads, patch, join. Owned by the manifest work.
