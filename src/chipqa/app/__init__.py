"""The ways in: the service that wires the parts, the CLI, the JSON API and the web UI."""
