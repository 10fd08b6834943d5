"""The law as data: rule packs, offense catalogs, drug schedules, consequence families, office overlays."""
