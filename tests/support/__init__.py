"""Real servers on 127.0.0.1 for the tests: recorded pages, and the channels alerts go to."""
