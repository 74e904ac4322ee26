"""Argument checks every layer shares, torch-free, and the words their messages share.

:mod:`~xbarmem.checks.values` (seeds: :func:`check_seed`, the one rule for random seeds; counts,
flags, choices, types), :mod:`~xbarmem.checks.arrays` (patterns, cues and conductances as
numbers), :mod:`~xbarmem.checks.widths` (:func:`check_neurons`, the one rule for the number of
neurons of a memory, and hidden layer widths), :mod:`~xbarmem.checks.keywords` (how public
functions are called: :func:`checked_keywords`, an unknown keyword or an argument of the wrong
type raising :class:`~xbarmem.errors.ArgumentError` naming it, before any work),
:mod:`~xbarmem.checks.kinds` (what a value is: a bool, a finite number, a number as written),
:mod:`~xbarmem.checks.words` (a value as messages show it, :func:`counted`,
:func:`seconds_text`) and :mod:`~xbarmem.checks.results` (what results types share: equality
by value, a short repr). Every name is imported from here: ``from xbarmem.checks import shown``.

May import :mod:`xbarmem.errors`, :mod:`xbarmem.limits` and :mod:`xbarmem.names` only (the
layers contract in ``pyproject.toml``); numpy and torch are imported inside the functions that
need them. Within it, ``kinds`` imports none of the others, ``words`` imports ``kinds``, and
the rest import those two (``widths`` also ``values``).
"""

from xbarmem.checks.arrays import (
    ArrayLike,
    as_real_array,
    check_image_shape,
    check_tensor,
    listed,
    not_numbers,
    numeric_array,
    tensor_of,
)
from xbarmem.checks.keywords import (
    cannot_call,
    checked_keywords,
    renamed_keywords,
    unknown_argument,
)
from xbarmem.checks.kinds import (
    as_written,
    finite,
    is_bool,
    is_number,
    lost_number,
    plain_scalar,
    reads_as_number,
)
from xbarmem.checks.results import (
    WALL_TIMES,
    ResultDict,
    brief_repr,
    result_repr,
    same_value,
    value_equality,
)
from xbarmem.checks.values import (
    MAX_COUNT,
    MAX_RUN_SEED,
    MAX_SEED,
    SEED_STRIDE,
    canonical,
    check_callback,
    check_choice,
    check_count,
    check_each_once,
    check_flag,
    check_seed,
    check_texts,
    check_type,
    choice_key,
    choices_text,
    closest_choice,
    is_choice,
)
from xbarmem.checks.widths import (
    DEFAULT_HIDDEN,
    check_neurons,
    hidden_layer_widths,
    hidden_word,
    ratio_width,
    resolve_hidden,
    several_widths,
)
from xbarmem.checks.words import (
    beside,
    brief,
    counted,
    seconds_text,
    shown,
    shown_typed,
    spanned,
    with_article,
)

__all__ = ["ArrayLike", "DEFAULT_HIDDEN", "MAX_COUNT", "MAX_RUN_SEED", "MAX_SEED", "ResultDict",
           "SEED_STRIDE", "WALL_TIMES", "as_real_array", "as_written", "beside", "brief",
           "brief_repr", "cannot_call", "canonical", "check_callback", "check_choice",
           "check_count", "check_each_once", "check_flag", "check_image_shape", "check_neurons",
           "check_seed", "check_tensor", "check_texts", "check_type", "checked_keywords",
           "choice_key", "choices_text", "closest_choice", "counted", "finite",
           "hidden_layer_widths", "hidden_word", "is_bool", "is_choice", "is_number", "listed",
           "lost_number", "not_numbers", "numeric_array", "plain_scalar", "ratio_width",
           "reads_as_number", "renamed_keywords", "resolve_hidden", "result_repr", "same_value",
           "seconds_text", "several_widths", "shown", "shown_typed", "spanned", "tensor_of",
           "unknown_argument",
           "value_equality", "with_article"]
