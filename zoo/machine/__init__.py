"""What this machine has and how the zoo's processes live on it: CPU and accelerator detection, the
precision and worker counts that follow from them (hardware), and child processes that die with their
parent (processes), a CPU-time quota for a command (cpu_quota, zoo.emulate). A leaf: it imports nothing else of the zoo, so configuration, data and training
can all ask it."""
