"""`python -m tests.ollama_standin serve` runs the stand-in like `ollama serve`."""

import sys

from .cli import main

raise SystemExit(main(sys.argv[1:]))
