import sys

from localworld.world import main

sys.exit(main())
