"""Components and component groups, their statuses and status history."""
