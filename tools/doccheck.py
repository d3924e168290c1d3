"""List notebook cells that nbdev's docs processor would execute out of context.

nbdev (`exec_show_docs`) runs, while rendering the docs, every code cell that is
exported or that contains an import anywhere in it. A test cell that imports
something and then uses names defined by earlier (unexported) cells fails there
with a NameError, although `nbdev-test` passes. Keep imports of test-only modules
in the hidden import cell at the top of the notebook.

Usage: python tools/doccheck.py [NB ...]   (default: every notebook under nbs/)
"""
import ast, sys
from pathlib import Path
from fastcore.nbio import read_nb

EXEC_DIRS = ('#| export', '#| exports', '#| exporti', '#| exec_doc', '#|export')

def _imports_only(tree):
    return all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in tree.body)

def _has_import(tree):
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))

def risky_cells(path):
    "Yield (index, first line) of cells the docs processor runs that are not imports only."
    for i, c in enumerate(read_nb(path).cells):
        if c.cell_type != 'code' or 'nbdev_export()' in c.source: continue
        src = c.source
        if any(l.strip().startswith(EXEC_DIRS) for l in src.splitlines()): continue
        body = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))
        try: tree = ast.parse(body)
        except SyntaxError: continue
        if _has_import(tree) and not _imports_only(tree): yield i, src.splitlines()[0]

def main(paths):
    bad = [(p, i, l) for p in paths for i, l in risky_cells(p)]
    for p, i, l in bad: print(f'{p}: cell {i} mixes imports with other code ({l!r})')
    return 1 if bad else 0

if __name__ == '__main__':
    args = sys.argv[1:] or sorted(str(p) for p in Path('nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in str(p))
    sys.exit(main(args))
