"""Write a BEIR-layout sample built from one LoCoMo conversation (NOT a BEIR dataset).

Turns are documents (title = speaker), questions of categories 1-4 are queries, and each
question's evidence turns are its relevant documents (grade 1). No BEIR data set can be
downloaded here (the PyPI packages beir, ir-datasets and mteb fetch data at run time and
ship none), so this is how `cortex bench beir` is exercised end to end.

    python benchmarks/make_beir_sample.py --out /tmp/beir_locomo --conversation 0
    cortex bench beir --corpus /tmp/beir_locomo/corpus.jsonl \
        --queries /tmp/beir_locomo/queries.jsonl --qrels /tmp/beir_locomo/qrels.tsv

Write it outside the repository: it is derived from LoCoMo and must not be committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cortex.bench import write_beir_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locomo", type=Path, default=Path("../shared/data/locomo/locomo10.json"))
    parser.add_argument("--out", type=Path, required=True, help="folder for the three files")
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--limit-queries", type=int, default=None)
    args = parser.parse_args()
    files = write_beir_sample(args.locomo, args.out, conversation=args.conversation,
                              limit_queries=args.limit_queries)
    print(f"wrote {files.corpus}, {files.queries}, {files.qrels}")


if __name__ == "__main__":
    main()
