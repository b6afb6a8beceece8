"""Temporal workflows: orchestration only, deterministic. They import pure domain types and rules."""
