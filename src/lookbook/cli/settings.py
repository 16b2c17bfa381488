"""``lookbook settings show|check --project P``: a project's touchpoint settings file.

``show`` prints the effective settings (the file over the defaults) as a commented TOML file that
can be copied to ``P/settings.toml`` and edited, or as JSON; ``check`` reads the file the way a
server does and prints the first error (the file, the dotted key, the bad value) with exit code 1,
or ``ok`` and the settings' version. A project without ``settings.toml`` runs on the defaults.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lookbook.cli._common import emit, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "settings",
        help="show or check a project's touchpoint settings (settings.toml)",
        description="A project's touchpoint settings live in PROJECT/settings.toml (TOML; every key "
        "optional, defaults filled in): alpha, beta, caps, MMR lambda, reranker and exact retrieval per "
        "touchpoint, home carousels, the response cache and the shop's clock.",
    )
    settings_sub = parser.add_subparsers(dest="settings_verb", metavar="ACTION", required=True)

    show = settings_sub.add_parser("show", help="print the effective settings (defaults filled in)")
    show.add_argument("--project", type=Path, required=True, help="project folder")
    show.add_argument("--json", action="store_true", help="print JSON (version, source, settings)")
    show.add_argument("--no-comments", action="store_true", help="TOML without the explaining comments")
    show.set_defaults(func=_show)

    check = settings_sub.add_parser(
        "check", help="check settings.toml: exit 1 naming the bad key, or print ok and the version"
    )
    check.add_argument("--project", type=Path, required=True, help="project folder")
    check.set_defaults(func=_check)


def _source(project: Path) -> str | None:
    from lookbook.project.settings import settings_path

    path = settings_path(project)
    return str(path) if path.is_file() else None


def _show(args: argparse.Namespace) -> int:
    from lookbook.project.settings import load_settings

    settings = load_settings(args.project)
    source = _source(args.project)
    if args.json:
        print_json({"version": settings.version, "source": source, "settings": settings.to_dict()})
        return 0
    origin = source if source is not None else "defaults (no settings.toml)"
    emit(f"# settings of {args.project}: {origin}\n# version {settings.version}\n")
    emit(settings.to_toml(comments=not args.no_comments).rstrip("\n"))
    return 0


def _check(args: argparse.Namespace) -> int:
    from lookbook.errors import SchemaError
    from lookbook.project.settings import load_settings

    try:
        settings = load_settings(args.project)
    except SchemaError as exc:  # a missing project (NotFound) is the usual error, not a finding
        emit(f"error: {exc}")
        return 1
    source = _source(args.project) or "defaults (no settings.toml)"
    emit(f"ok: {source}, version {settings.version}")
    return 0
