import sys

from providers.cli import main

sys.exit(main())
