"""SLA clocks: targets on business calendars, reminders and breaches, the scheduler, the compliance report."""
