"""`python -m irgrad.examples NAME`: see `irgrad.examples`."""
import sys

from . import main

sys.exit(main())
