"""KneeGrade ML: synthetic data, datasets, models, training and inference for KL grading."""
