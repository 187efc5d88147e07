"""KneeGrade REST API: serves the models that kneegrade_ml exports (built in the REST API issue)."""
