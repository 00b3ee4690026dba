"""Monthly PDF reports (placeholder, being written)."""
