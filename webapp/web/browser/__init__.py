"""What only the browser's pages need: forms, display words and times, filters, the sign-in session."""
