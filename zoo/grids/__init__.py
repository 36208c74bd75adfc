"""Comparison grids and campaigns: many runs of architectures x presets x seeds."""
