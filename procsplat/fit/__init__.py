"""Fitting shape programs to observed objects: targets, losses, search, baselines, metrics."""
