"""The desk's core: domain values, their rows, the clock, the unit of work, who is who, triage, the desk."""
