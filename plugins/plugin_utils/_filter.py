# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to this collection: no compatibility promise for code outside cloudnet.triage.

"""The one base of this collection's filters: input and options validated against the filter's own
DOCUMENTATION, the way ansible.utils validates its filters (``AnsibleArgSpecValidator`` over the
docstring), and the collection's errors turned into ``AnsibleFilterError`` naming the filter.

A filter file is then its documentation and one line::

    report_gate = documented_filter(DOCUMENTATION, gate, input_name="diagnosis")

Controller side only (filters run where Ansible and PyYAML are).
"""

from __future__ import annotations

import functools
import importlib
from collections import namedtuple

import yaml

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

__all__ = ["FilterArgumentError", "FilterInterface", "documented_filter", "filter_arguments", "filter_interface", "filter_module"]

COLLECTION = "cloudnet.triage"
_FRAGMENTS = "ansible_collections.cloudnet.triage.plugins.doc_fragments."

# What an option's documentation says that ArgumentSpecValidator enforces.
_SPEC_KEYS = ("type", "elements", "default", "choices", "required")
_INPUT_TYPES = {"dict": dict, "list": list}


class FilterArgumentError(ValueError):
    """A filter called with an input or options its DOCUMENTATION does not allow."""


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class FilterInterface(namedtuple("FilterInterface", "name short_description input_type positional spec")):
    """What a filter's DOCUMENTATION declares: its name, the type of its input, the option names it takes
    by position after the input, and the argument spec of its options."""


def _fragment_options(doc):
    """The options of the cloudnet.triage doc fragments a DOCUMENTATION extends (``cloudnet.triage.NAME`` for the
    fragment's DOCUMENTATION, ``cloudnet.triage.NAME.VAR`` for its attribute VAR), merged as ansible-doc merges
    them: an option the DOCUMENTATION or an earlier fragment defines is kept whole."""
    fragments = doc.get("extends_documentation_fragment") or ()
    if isinstance(fragments, str):
        fragments = fragments.split(",")
    options = {}
    for fragment in fragments:
        parts = str(fragment).strip().split(".")
        if parts[:2] != COLLECTION.split(".") or len(parts) not in (3, 4):
            continue
        module = importlib.import_module(_FRAGMENTS + parts[2])
        text = getattr(module.ModuleDocFragment, parts[3].upper() if len(parts) == 4 else "DOCUMENTATION")
        for name, option in ((yaml.safe_load(text) or {}).get("options") or {}).items():
            options.setdefault(name, option)
    return options


@functools.lru_cache(maxsize=None)
def filter_interface(documentation):
    """The FilterInterface of a DOCUMENTATION string (parsed once per string), with the options of the doc
    fragments it extends (its own options take precedence)."""
    doc = yaml.safe_load(documentation)
    options = _fragment_options(doc)
    options.update(doc.get("options") or {})
    input_doc = options.pop("_input", None) or {}
    positional = [name.strip() for name in str(doc.get("positional") or "").split(",")]
    # ``positional: _input, fail_on`` documents ``x | f('critical')``: the names after the input.
    positional = tuple(name for name in positional if name and name != "_input")
    spec = {name: {key: option[key] for key in _SPEC_KEYS if key in option} for name, option in options.items()}
    return FilterInterface(doc.get("name"), doc.get("short_description"), input_doc.get("type"), positional, spec)


def filter_arguments(documentation, data, args=(), kwargs=None, input_name="input"):
    """Validate a filter's input and options against its own DOCUMENTATION.

    ``args`` are the positional arguments after the input, mapped to the names ``positional`` lists;
    an option passed as null takes its default. Returns the validated options (defaults filled in,
    values converted to the documented types); raises FilterArgumentError naming the input or the
    option and the value (the caller names the filter: documented_filter does).
    """
    interface = filter_interface(documentation)
    positional, spec = interface.positional, interface.spec
    if len(args) > len(positional):
        raise FilterArgumentError("takes at most %d positional argument(s) after the input (%s), got %d"
                                  % (len(positional), ", ".join(positional) or "none", len(args)))
    expected = _INPUT_TYPES.get(interface.input_type)
    if expected is not None and not isinstance(data, expected):
        raise FilterArgumentError("%s: expected a %s, got %s" % (input_name, interface.input_type, _short(data)))
    params = dict(zip(positional, args))
    for name, value in (kwargs or {}).items():
        if name in params:
            raise FilterArgumentError("option %s given twice, by position and by name" % name)
        params[name] = value
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise FilterArgumentError("unknown option(s) %s; the options are %s" % (", ".join(unknown), ", ".join(sorted(spec)) or "none"))
    params = {name: value for name, value in params.items() if value is not None}
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise FilterArgumentError("; ".join(result.error_messages))
    return result.validated_parameters


def documented_filter(documentation, function, input_name="input", errors=(ValueError,)):
    """The filter function for ``function(data, **options)``, validated against ``documentation``.

    The filter is named by the documentation's ``name``; its input and options are checked with
    ``filter_arguments``; a FilterArgumentError, or one of ``errors`` raised by ``function`` (the
    collection raises ValueError subclasses: ReportError, FactsError), becomes the AnsibleFilterError
    ``cloudnet.triage.<name>: <message>``.
    """
    interface = filter_interface(documentation)
    if not interface.name:
        raise ValueError("documented_filter: the DOCUMENTATION has no name")
    errors = tuple(errors) + (FilterArgumentError,)

    def run_filter(data, *args, **kwargs):
        try:
            options = filter_arguments(documentation, data, args, kwargs, input_name=input_name)
            return function(data, **options)
        except errors as exc:
            raise AnsibleFilterError("%s.%s: %s" % (COLLECTION, interface.name, exc)) from exc

    run_filter.__name__ = run_filter.__qualname__ = interface.name
    run_filter.__doc__ = interface.short_description
    return run_filter


def filter_module(*filters):
    """The ``FilterModule`` class Ansible's loader asks a filter plugin file for: the documented_filter
    functions given, each under its documented name."""
    table = dict((function.__name__, function) for function in filters)

    class FilterModule(object):
        def filters(self):
            return dict(table)

    return FilterModule
