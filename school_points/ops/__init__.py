"""Running the system: the `flask` commands, the RQ worker, the scheduler and its timetable,
the periodic sweeps, and demo data."""
