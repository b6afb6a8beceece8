"""Comments on any document (a business key) and on its tasks: a timeline people discuss in; `@username` of
someone who may see the document tells them (a `mention` notification)."""
