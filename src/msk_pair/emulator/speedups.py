"""Memoise what moto recomputes although its inputs have not changed.

AWS service: none; caches of what moto recomputes; behaviour unchanged.
Sources: none needed (no AWS behaviour here).

- moto's request dispatch rebuilds each backend's URL table and lists a response
  class's methods with ``inspect.getmembers`` for every call; both depend only on
  the class.
- moto's Step Functions engine lexes and parses the whole ASL (100 KB here) with
  ANTLR at every StartExecution: about 0.3 s each. The parse tree depends only on
  the definition text, so it is kept; the evaluation components are still built
  fresh from it for every execution (they are not shared between executions).
- Every EC2 region backend loads 1,200 ECS-optimised AMIs the workflow never uses
  (the Amazon Linux 2023 image it launches comes from moto's latest-AMI list).
- The engine deep-copies the state's JSON on every path it reads; for plain JSON a
  JSON round trip is the same copy, several times faster (anything that is not
  plain JSON still goes through ``copy.deepcopy``).
- The engine compiles every JSONPath it evaluates with jsonpath_ng, whose ``parse``
  builds a new PLY parser (its tables) each time: about a millisecond per path, the
  largest single cost of a run. The compiled expression depends only on the text.
- The engine makes a new boto3 Lambda client for every task it invokes (client
  creation copies botocore's event hooks and rebuilds the user agent); one client
  per region serves them all (clients are thread-safe).

Behaviour is unchanged; this only keeps the test suite and the demo fast.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from moto.core import base_backend, responses, utils
from moto.ec2.models import amis
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.eval import states
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.utils import json_path

_JSON_COPY_MODULES = (states, string_expression)


class _FastCopy:
    """Stands in for the ``copy`` module in the engine's state handling."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        try:
            return json.loads(json.dumps(value))
        except (TypeError, ValueError):
            return copy.deepcopy(value, memo)


_saved: dict[str, Any] = {}
_PARSE_TREES: dict[str, Any] = {}  # definition text -> ANTLR parse tree; kept for the process's life


def install() -> None:
    if _saved:
        return
    _saved["method_names"] = responses.method_names_from_class
    _saved["urls"] = base_backend.BaseBackend.urls
    cached_names = functools.lru_cache(maxsize=None)(utils.method_names_from_class)
    responses.method_names_from_class = cached_names
    original_urls = base_backend.BaseBackend.urls.fget
    cache: dict[tuple[type, tuple[str, ...]], Any] = {}

    def urls(self: Any) -> Any:
        key = (type(self), tuple(self.url_bases))
        found = cache.get(key)
        if found is None:
            found = cache[key] = original_urls(self)
        return found

    base_backend.BaseBackend.urls = property(urls)  # type: ignore[assignment]

    _saved["parse"] = asl_parser.AmazonStateLanguageParser.parse
    original_parse = asl_parser.AmazonStateLanguageParser.parse
    trees = _PARSE_TREES

    def parse(definition: str) -> Any:
        tree = trees.get(definition)
        if tree is None:
            program, tree = original_parse(definition)  # raises on syntax errors, as before
            trees[definition] = tree
            return program, tree
        return asl_parser.Preprocessor().visit(tree), tree

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]

    for module in _JSON_COPY_MODULES:
        module.copy = _FastCopy()  # type: ignore[attr-defined]

    _saved["load_resource"] = amis.load_resource
    original_load = amis.load_resource

    def load_resource(path: str, *args: Any, **kwargs: Any) -> Any:
        if "ecs/optimized_amis" in path:
            return []
        return original_load(path, *args, **kwargs)

    amis.load_resource = load_resource

    for module in (json_path, result_path):
        _saved[f"parse:{module.__name__}"] = module.parse
        module.parse = functools.lru_cache(maxsize=4096)(module.parse)

    _saved["boto_client_for"] = lambda_eval_utils.boto_client_for
    original_client_for = lambda_eval_utils.boto_client_for
    clients: dict[tuple[Any, ...], Any] = {}

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's boto_client_for ignores state_credentials (every client gets the same fixed keys), so one
        # client per region and service is the same client whatever a Task's credentials say
        from moto.core.models import botocore_stubber

        key = (region, service, botocore_stubber.enabled)
        found = clients.get(key)
        if found is None:
            found = clients[key] = original_client_for(region=region, service=service)
        return found

    lambda_eval_utils.boto_client_for = boto_client_for


def uninstall() -> None:
    if not _saved:
        return
    for module in (json_path, result_path):
        module.parse = _saved.pop(f"parse:{module.__name__}")
    lambda_eval_utils.boto_client_for = _saved.pop("boto_client_for")
    responses.method_names_from_class = _saved.pop("method_names")
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(_saved.pop("parse"))  # type: ignore[method-assign]
    for module in _JSON_COPY_MODULES:
        module.copy = copy  # type: ignore[attr-defined]
    amis.load_resource = _saved.pop("load_resource")
    base_backend.BaseBackend.urls = _saved.pop("urls")  # type: ignore[assignment]
