"""The top layer: wiring the engines, the command line, `check` and the benchmarks."""
