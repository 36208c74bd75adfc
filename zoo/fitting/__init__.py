"""Training: the loop, checkpoints and the run lock, learning-rate phases, the time budget, the machine, workers, benchmarks."""
