"""``graphmode info``: what TensorFlow, Keras and devices graphmode runs on."""

from __future__ import annotations

import argparse
import json


def collect_info() -> dict[str, object]:
    """Returns versions, the legacy-Keras state and the devices TensorFlow sees."""
    import graphmode
    from graphmode._runtime import gpu_devices, legacy_keras_active, tf

    return {
        "graphmode": graphmode.__version__,
        "tensorflow": tf.__version__,
        "legacy_keras": legacy_keras_active(),
        "built_with_cuda": tf.test.is_built_with_cuda(),
        "gpus": list(gpu_devices()),
        "devices": [device.name for device in tf.config.list_logical_devices()],
    }


def _run(args: argparse.Namespace) -> int:
    info = collect_info()
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:15} {value}")
        if info["built_with_cuda"] and not info["gpus"]:
            print("note: this TensorFlow is built with CUDA but sees no GPU; GPU-pinned ops need "
                  "allow_soft_placement=True to run on CPU.")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show TensorFlow, Keras and device facts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_run)
