"""Collateral: pre-plea advisories on the collateral consequences of criminal dispositions."""

__version__ = "0.1.0"
