"""The servers `resourcekit.serving.serve` can start besides waitress, each through its own API.

Each module imports its server only when called, so a site that uses waitress never loads them.
"""
