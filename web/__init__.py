"""The Flask app (issue #3): browser search, JSON API and embeddable widget."""
