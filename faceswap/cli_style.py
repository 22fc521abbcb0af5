"""How every `faceswap` command prints its options: one dialect.

Typer 0.2x prints a type after each option (`<bool>` after a flag, `<path>`,
`<list[Path]>`) and braces around arguments in the usage line (`{faces_a}`).
The command and group classes here make each parameter speak as established
command-line tools do: arguments as `FACES_A`, an option's value as a metavar
(`N`, `PATH`, `DURATION`, or its choices `lightweight|original|hires`), nothing
after a flag. They also hold the help texts that several commands share, so
the same option reads the same everywhere.
"""

from __future__ import annotations

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# The presets are a registry (faceswap.train.presets.PRESETS) that a project may add to, so
# --preset is checked by train() rather than by the parser; listed here to keep --help from importing torch.
PRESETS = "lightweight|original|hires"
DEVICE = "Where to run: cpu, cuda or cuda:N (default: the GPU when present, else the CPU)."
THREADS = ("CPU threads for torch, or auto: time a step on one thread and on all cores and keep the faster "
           "(on a busy CPU one thread can be ten times faster than two).")
PROGRESS = "Show the progress bar."
FORCE = "Overwrite an existing output that faceswap wrote."
TIME = "Wall-clock budget, e.g. 90s, 20m or 1.5h; the progress bar then shows the time left."
ROTATE = "Also find faces turned 90, 180 or 270 degrees (auto), or upright ones only (off)."
LIKE_THRESHOLD = "Largest identity distance to the --like photos that still counts as that person."

# A value's name by its type when the option names none (an explicit metavar= wins).
_BY_TYPE = {"int": "N", "float": "NUMBER", "str": "TEXT", "Path": "PATH"}


def _type_name(param) -> str:
    desc = getattr(param, "type_descriptor", None)
    annotation = getattr(desc, "annotation", None)
    origin = getattr(annotation, "__origin__", None)
    if origin is list:  # a repeatable option: name its one value
        annotation = annotation.__args__[0]
    return getattr(annotation, "__name__", "")


def _choices(param) -> tuple | None:
    desc = getattr(param, "type_descriptor", None)
    return getattr(desc, "choices", None) if desc is not None else getattr(getattr(param, "type", None), "choices", None)


class _Argument(TyperArgument):
    def display_type_rich(self, ctx):  # the name column already reads FACES_A
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"


class _Option(TyperOption):
    def display_type_rich(self, ctx):
        return None if self.is_flag or self.count else self.metavar


def _speak(param) -> None:
    """Give `param` its metavar and the printing rules above."""
    if isinstance(param, TyperArgument):
        param.metavar = param.metavar or param.name.upper()
        param.__class__ = _Argument
    elif isinstance(param, TyperOption):
        if not (param.is_flag or param.count) and param.metavar is None:
            choices = _choices(param)
            param.metavar = "|".join(str(c) for c in choices) if choices else _BY_TYPE.get(_type_name(param), "VALUE")
        param.__class__ = _Option


class _Speaks:
    """Applies the rules to a command's parameters and to its --help option."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            _speak(param)

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            _speak(option)
        return option


class Command(_Speaks, TyperCommand):
    pass


class Group(_Speaks, TyperGroup):
    pass
