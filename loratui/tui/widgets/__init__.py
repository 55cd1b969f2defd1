"""Widgets of the dataset screen, one per file."""
