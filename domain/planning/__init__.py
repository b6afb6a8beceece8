"""Planning: bills of materials, kitting analysis and MRP. Pure functions over plain data (frozen
dataclasses, not pydantic models: a run touches hundreds of thousands of lines and must stay fast);
the API converts at its boundary, the services load and store."""
