"""dutydesk: the channel-agnostic support desk (tickets, routing glue, SLA clocks, commands)."""
