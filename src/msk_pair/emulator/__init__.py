"""The embedded AWS emulator: moto, the project's ASL and handlers, emulated time.

AWS service: none itself; each module of the package models one service (or is machinery), and its
  docstring says which.
Sources: ARCHITECTURE.md, "The emulator": the table of files, the service each models and its
  sources.
"""
