"""Screens: the dataset browser, the tag-frequency view, and the modals they open."""
