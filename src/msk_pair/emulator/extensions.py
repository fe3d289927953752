"""The emulator's extensions on top of moto, installed in this order (each has install/uninstall).

AWS service: none; the list of the extension modules, each of which names its own.
Sources: each module's docstring.
"""

from msk_pair.emulator import mock_config, msk, peering, speedups, ssm, strict_ec2

ALL = [speedups, strict_ec2, ssm, msk, peering, mock_config]
