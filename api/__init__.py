"""The read API (FastAPI): see api/README.md."""
