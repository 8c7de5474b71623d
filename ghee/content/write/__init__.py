"""The Write API behind the 202: validation, accept, the job pipeline, index upkeep."""
