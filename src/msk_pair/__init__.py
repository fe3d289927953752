"""msk-pair: the CLI and the embedded AWS emulator (the Lambda code lives in layers/ and functions/)."""
