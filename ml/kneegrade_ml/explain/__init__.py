"""Per-image explanations: heatmaps of what drove a grade, and pictures of them for the API."""
