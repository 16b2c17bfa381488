"""``lookbook experiment simulate|size``: experiments run against a demo world's hidden shoppers,
and the users an A/B test needs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lookbook.cli._common import emit, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "experiment",
        help="simulate an A/B test, interleaving or a bandit on a project; size an A/B test",
        description="Experiments decide between settings of a touchpoint (alpha, beta, reranker, exact or "
        "approximate retrieval, MMR lambda). `simulate` runs one against the world's simulated shoppers "
        "on a private copy of the project and prints what it measured beside the truth.",
    )
    actions = parser.add_subparsers(dest="experiment_action", metavar="ACTION", required=True)
    sim = actions.add_parser("simulate", help="one whole experiment against the world's hidden shoppers")
    sim.add_argument("--world", required=True, help="the world folder, or fashion / home (the project's own)")
    sim.add_argument("--project", type=Path, required=True, help="a project built from that world")
    sim.add_argument("--design", required=True, choices=("ab", "interleave", "bandit"))
    sim.add_argument("--touchpoint", default="home", choices=("home", "similar"))
    sim.add_argument("--arms", nargs="*", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                     help="two arms for ab and interleave, e.g. low:alpha=0 high:alpha=1")  # fmt: skip
    sim.add_argument(
        "--grid", default=None, metavar="KEY=V1,V2,...", help="the bandit's grid (alpha=0,0.5,1)"
    )
    sim.add_argument("--users", type=int, default=200, help="shoppers in the panel")
    sim.add_argument("--days", type=int, default=1, help="simulated days (each shopper visits once a day)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(func=_simulate)
    size = actions.add_parser("size", help="users per arm an A/B test needs")
    size.add_argument("--baseline-rate", type=float, required=True, help="the control's rate, e.g. 0.05")
    size.add_argument(
        "--lift", type=float, required=True, help="relative change to detect, e.g. 0.1 (+10 %%)"
    )
    size.add_argument("--alpha", type=float, default=0.05, help="significance level (two-sided)")
    size.add_argument("--power", type=float, default=0.8)
    size.add_argument("--json", action="store_true", help="print JSON")
    size.set_defaults(func=_size)


def _world(args: argparse.Namespace) -> Path:
    if args.world in ("fashion", "home"):
        return Path(args.project) / f"world-{args.world}"
    return Path(args.world)


def _simulate(args: argparse.Namespace) -> int:
    from lookbook.experiments.simulate import parse_arm, parse_grid, run_experiment

    report = run_experiment(
        world=_world(args),
        project=args.project,
        design=args.design,
        touchpoint=args.touchpoint,
        arms=[parse_arm(a) for a in args.arms],
        grid=parse_grid(args.grid) if args.grid else None,
        users=args.users,
        days=args.days,
        seed=args.seed,
    )
    if args.json:
        print_json(report)
        return 0
    truth = report["truth"]
    for name, t in truth["arms"].items():
        emit(f"  {name:<16} true NDCG@20 {t['true_ndcg20']:.4f}  true click rate {t['true_click_rate']:.4f}")
    emit(f"truth's winner: {truth['winner']}")
    if args.design == "bandit":
        emit(f"bandit learned {report['alpha_learned']} (best fixed {report['alpha_best_fixed']}); regret "
             f"{report['regret']:.1f} vs epsilon-greedy {report['regret_epsilon_greedy']:.1f}")  # fmt: skip
    else:
        emit(f"{args.design}: winner {report['winner']} (p = {report['p_value']:.4g}), verdict after "
             f"{report['users_to_verdict']} users")  # fmt: skip
    return 0


def _size(args: argparse.Namespace) -> int:
    from lookbook.experiments.power import users_per_arm

    n = users_per_arm(args.baseline_rate, args.lift, alpha=args.alpha, power=args.power)
    if args.json:
        print_json({"users_per_arm": n, "baseline_rate": args.baseline_rate, "lift": args.lift,
                    "alpha": args.alpha, "power": args.power})  # fmt: skip
    else:
        emit(f"{n:,} users per arm ({2 * n:,} in all) to detect {args.lift:+.1%} on a rate of "
             f"{args.baseline_rate:g} at alpha {args.alpha:g} with power {args.power:g}")  # fmt: skip
    return 0
