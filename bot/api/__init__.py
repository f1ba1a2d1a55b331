"""The HTTP adapter: FastAPI routes around the approval service."""
