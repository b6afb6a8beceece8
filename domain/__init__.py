"""The business: pure rules (importable by workflows) and, under schema/ and services/, the SQL side."""
