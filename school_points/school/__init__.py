"""The school as an organisation: its campuses and settings, an admin's campus scope, who acted
(actors) and the audit log of what they did."""
