"""The embedded AWS emulator: moto, the project's ASL and handlers, emulated time."""
