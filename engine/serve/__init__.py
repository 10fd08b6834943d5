"""`collateral serve`: a local web app over a folder of case files (docs/serve.md)."""

from __future__ import annotations

from engine.serve.app import App, create_app

__all__ = ["App", "create_app"]
