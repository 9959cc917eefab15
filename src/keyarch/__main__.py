import sys

from keyarch.cli import main

sys.exit(main())
