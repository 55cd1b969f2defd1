"""The Textual front end. A thin shell over ``loratui.dataset``: every edit goes through the core."""
