"""The client side: a signed client for OpenTrail's API and the replay of log files into it."""
