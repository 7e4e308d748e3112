"""`dutydesk simulate`: play weeks of traffic through the real desk under a manual clock.

The routing, assignment, SLA clocks, escalation and reminders are the desk's own code, run on
an in-memory SQLite database on the local channel; only the customers and the engineers are
simulated. A what-if (an engineer on leave, a changed shift, more customers on a plan, a
new target) runs the same arrivals again, so the two results differ by the change alone.

- `overlay`: the config and its what-if changes (a TOML overlay, command-line changes).
- `arrivals`: when tickets arrive (rates per hour of week from a history or a CSV).
- `handling`: how long engineers take (distributions from a history or given).
- `engineers`: the simulated people: on shift, within their capacity, acting through the
  desk's public entry points.
- `engine`: the event loop that advances the clock from one event to the next.
- `metrics`, `output`: what the run achieved, side by side, as text, CSV and a chart.
"""
