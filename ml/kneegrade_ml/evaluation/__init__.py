"""Evaluation of KL-grade predictions: metrics, calibration, tables and confusion-matrix plots."""
