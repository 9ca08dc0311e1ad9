"""Engine benchmarks: YCSB workloads A-F on each storage engine, directly through the
Backend interface and end to end through a kvcore node. Run `python -m bench.engines`."""
