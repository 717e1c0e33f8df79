"""Fixtures shared by every test: real SMTP and DNS servers (tests/servers)."""

pytest_plugins = ["tests.servers.fixtures"]
