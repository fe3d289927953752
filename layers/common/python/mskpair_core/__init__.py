"""msk-pair's shared library: every AWS call the Lambda handlers make lives here.

Packaged as the Lambda layer ``CommonLayer`` (``/opt/python/mskpair_core``);
locally ``layers/common/python`` is put on ``sys.path`` by the emulator and pytest.
"""
