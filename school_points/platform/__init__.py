"""What every capability stands on: configuration, the clock, domain errors, the database
(extensions, engine setup, column types, autocommit), finishing a piece of work, Redis, rate
limits, the job queue seam, codes, safe logging and the readiness check. Imports no other part
of school_points."""
