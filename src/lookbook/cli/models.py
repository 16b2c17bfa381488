"""``lookbook models list|promote|rollback``: a project's model versions and which one serves."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lookbook.cli._common import emit, print_json

if TYPE_CHECKING:
    from lookbook.project.layout import ProjectPaths

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "models",
        help="list a project's model versions, promote one or roll back",
        description="Every build and retrain writes a model version under models/versions/; models/CURRENT "
        "names the one that serves (a running server follows it). A project built before versions has "
        "one version, v0 (its flat models/ folders).",
    )
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every version, its metrics, and the serving one")
    promote = actions.add_parser("promote", help="make VERSION the serving version")
    promote.add_argument("version", metavar="VERSION", help="a version id, e.g. v3")
    rollback = actions.add_parser("rollback", help="serve the version that served before the current one")
    for p in (listing, promote, rollback):
        p.add_argument("--project", type=Path, required=True, help="the project folder")
        p.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)
    promote.set_defaults(func=_promote)
    rollback.set_defaults(func=_rollback)


def _paths(args: argparse.Namespace) -> ProjectPaths:
    from lookbook.errors import NotFound
    from lookbook.project.layout import ProjectPaths

    paths = ProjectPaths(args.project)
    if not paths.record.exists():
        raise NotFound(f"project {paths.root}: no build.json; build it first (`lookbook build`)")
    return paths


def _list(args: argparse.Namespace) -> int:
    from lookbook.project import versions

    paths = _paths(args)
    current = versions.current_version(paths)
    infos = versions.list_versions(paths)
    if args.json:
        print_json(
            {"current": current, "versions": [i.to_dict() | {"current": i.id == current} for i in infos]}
        )
        return 0
    emit(f"{'':2}{'version':<9}{'state':<10}{'source':<9}{'parent':<8}{'created':<27}NDCG new / serving")
    for i in infos:
        m = i.metrics
        ndcg = (
            f"{m['candidate_ndcg']:.4f} / {m['serving_ndcg']:.4f}"
            if "candidate_ndcg" in m
            else ("-" if not m else "not compared")
        )
        mark = "* " if i.id == current else "  "
        parent = i.parent or "-"
        emit(f"{mark}{i.id:<9}{i.state:<10}{i.source:<9}{parent:<8}{i.created:<27}{ndcg}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from lookbook.project import versions

    info = versions.promote(_paths(args), args.version)
    if args.json:
        print_json(info.to_dict())
    else:
        emit(f"{info.id} promoted (serving from now on)")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from lookbook.project import versions

    paths = _paths(args)
    before = versions.current_version(paths)
    info = versions.rollback(paths)
    if args.json:
        print_json(info.to_dict() | {"from": before})
    else:
        emit(f"rolled back from {before} to {info.id}")
    return 0
