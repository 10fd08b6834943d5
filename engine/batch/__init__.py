"""Screening a docket: the batch command and the synthetic docket generator."""
