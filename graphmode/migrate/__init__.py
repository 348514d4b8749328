"""Migration: a TF1 script in, a TF2 program out, proven step by step against the original.

Nothing is imported here: the lockstep probe runs inside the migrated program's
process, which must not import TensorFlow through graphmode (that would switch
it to legacy Keras). Import from the modules: :func:`graphmode.migrate.pipeline.migrate_script`.
"""
