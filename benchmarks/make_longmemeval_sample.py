"""Write a LongMemEval-format sample built from LoCoMo (NOT LongMemEval itself).

Each LoCoMo question of categories 1-4 with evidence becomes one question whose haystack
is that conversation's sessions (the evidence sessions plus --distractors others, or all
of them) and whose answer_session_ids are the evidence sessions. Dates are written in
LongMemEval's form, "2023/05/08 (Mon) 13:56". The output exercises the LongMemEval loader
on real conversational text; its figures are not LongMemEval figures.

    python benchmarks/make_longmemeval_sample.py --locomo ../shared/data/locomo/locomo10.json \
        --out /tmp/lme_sample.json --limit 100 --distractors 8
    cortex bench longmemeval --data /tmp/lme_sample.json

Write it outside the repository: it is derived from LoCoMo and must not be committed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cortex.bench import longmemeval_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locomo", type=Path, default=Path("../shared/data/locomo/locomo10.json"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None, help="at most N questions")
    parser.add_argument("--distractors", type=int, default=None,
                        help="other sessions per haystack (default: the whole conversation)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    questions = longmemeval_sample(args.locomo, limit=args.limit, distractors=args.distractors,
                                   seed=args.seed)
    args.out.write_text(json.dumps(questions), encoding="utf-8")
    turns = sum(len(s) for q in questions for s in q["haystack_sessions"])
    print(f"wrote {len(questions)} questions ({turns} haystack turns) to {args.out}")


if __name__ == "__main__":
    main()
