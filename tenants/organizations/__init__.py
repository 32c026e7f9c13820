"""Organizations as a whole: onboarding and the demo organization."""
