"""Bundled instrument definitions (YAML) and their JSON Schema.

This folder is installed as the package ``empathy_metrics._instruments`` so that a
non-editable ``pip install .`` ships the definitions inside the wheel.
"""
