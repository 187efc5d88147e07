"""Training, cross-validation and the end-to-end pipeline."""
