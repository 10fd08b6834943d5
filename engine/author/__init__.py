"""The rule authors' toolkit: schemas, scaffold, reference, layout, pack tests, the casebook."""
