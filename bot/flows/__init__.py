"""What happens to tickets: a customer's message, an engineer's, actions, notifications, set-aside updates."""
