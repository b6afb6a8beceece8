"""FastAPI app: routers that start, signal and update workflows and read the domain; a jinja2 UI."""
