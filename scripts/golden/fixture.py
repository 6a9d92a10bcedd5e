"""What the golden generators share: writing a fixture as one line of JSON under a package's test/fixtures."""
import json
import os


def write_fixture(out, package, name):
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', package, 'test', 'fixtures', name)
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.normpath(path)}')
