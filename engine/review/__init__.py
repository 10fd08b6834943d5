"""Counsel's review: flag ids, review files, the seal and its verification."""
