"""Bundled instrument definitions (YAML) and their JSON Schema.

They live inside the package, so every way of running the code finds them: a wheel from
``pip install .``, an editable install, and Python started in a clone's root (which imports
the source tree, not the installed copy).
"""
