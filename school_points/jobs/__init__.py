"""Background jobs: they take ids, run after commit, and commit their own work."""
