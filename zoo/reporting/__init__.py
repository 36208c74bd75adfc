"""Comparison reports from tracked runs: tables, statistics, figures."""
