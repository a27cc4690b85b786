//! Browser collector (placeholder until the collector lands).
