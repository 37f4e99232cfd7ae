"""HTML adapter for school staff: the staff console (学校后台) at /console/ (docs/CONSOLE.md)."""
