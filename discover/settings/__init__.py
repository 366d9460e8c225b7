"""Settings files: frozen dataclasses read from and written to TOML (for discover.config)."""
