"""The clock engine: an APScheduler process that claims due alert instants from the database."""
