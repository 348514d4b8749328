import sys

from graphmode.cli import main

sys.exit(main())
