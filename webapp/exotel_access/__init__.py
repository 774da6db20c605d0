"""This app's way out to Exotel: its client (Exotel itself, or the simulator), and the request budget."""
