"""Measuring commands: both doors under load (``doors``), the matching scorer's speed
(``matching``) and its quality against the demo's ground truth (``matching_quality``)."""
