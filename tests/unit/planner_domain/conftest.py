import sys
from pathlib import Path

# The builders live beside the tests; make them importable whatever the rootdir.
sys.path.insert(0, str(Path(__file__).parent))
