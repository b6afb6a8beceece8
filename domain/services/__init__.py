"""Domain operations over a SQLAlchemy session: one call, one piece of business, no commit here
(the caller's unit of work commits)."""
