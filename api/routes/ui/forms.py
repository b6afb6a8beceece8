"""The form designer's pages (admin): the form types, and one form type's fields and route with a preview."""

from __future__ import annotations

from api.routes.ui.pages import page_router

router = page_router()
