"""What the desk says, per language."""
