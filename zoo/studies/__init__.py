"""Optuna studies of the learning-rate phases: their configs and the study process."""
