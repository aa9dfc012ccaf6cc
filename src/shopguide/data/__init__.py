"""Data: schemas, validation, ingestion, id maps, interaction matrices, splitters, datasets."""
