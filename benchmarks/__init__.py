"""Benchmarks: commands that print medians and ratios with the machine they ran on."""
