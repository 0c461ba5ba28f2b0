"""`sejits tune show|export|import|reset`: the daemon's tuning database."""

import sys

from sejits import _daemon


def _printable(text):
    """Imported records may carry any text: no terminal control sequences reach the screen."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _records(kernel):
    from sejits.v1 import specializer_pb2 as pb

    return _daemon.call("ListTuning", pb.TuningQuery(kernel=kernel or ""))


def show(args):
    reply = _records(args.kernel)
    print(f"tuning database {reply.database}; this platform {reply.platform}: {_printable(reply.platform_description)}")
    if not reply.records:
        print("no records" + (f" for {args.kernel!r}" if args.kernel else ""))
        return 0
    for record in reply.records:
        chosen = record.choice.variant if record.HasField("choice") else None
        here = "" if record.platform == reply.platform else f" (platform {record.platform})"
        print()
        print(_printable(f"{record.kernel_name or '?'} [{record.shape_class}] key {record.kernel_key[:16]}{here}, "
                         f"{record.origin}"))
        if chosen is not None:
            print(_printable(f"  chosen {record.choice.chosen_at} from {record.choice.samples} samples: {record.choice.reason}"))
        width = max([len(v.variant) for v in record.variants] + [7])
        print(f"  {'variant':<{width}}  {'samples':>7}  {'median ms':>10}  {'errors':>6}  chosen")
        for variant in record.variants:
            mark = "*" if variant.variant == chosen else ""
            print(f"  {_printable(variant.variant):<{width}}  {len(variant.samples):>7}  {1e3 * variant.median_seconds:>10.4f}"
                  f"  {variant.errors:>6}  {mark}")
    return 0


def export(args):
    from google.protobuf import json_format

    reply = _records(args.kernel)
    with open(args.file, "w") as out:
        for record in reply.records:
            out.write(json_format.MessageToJson(record, indent=None, preserving_proto_field_name=True) + "\n")
    print(f"exported {len(reply.records)} records to {args.file}")
    return 0


def import_(args):
    from sejits.v1 import specializer_pb2 as pb

    with open(args.file) as source:
        text = source.read()
    reply = _daemon.call("ImportTuning", pb.ImportTuningRequest(jsonl=text, source_name=args.file))
    print(f"imported {reply.imported} records; kept {reply.kept_existing} existing; {reply.malformed} malformed lines")
    return 0 if reply.malformed == 0 else 1


def reset(args):
    from sejits.v1 import specializer_pb2 as pb

    reply = _daemon.call("ResetTuning", pb.TuningQuery(kernel=args.kernel or ""))
    print(f"deleted {reply.deleted} tuning records")
    return 0


def add_commands(commands):
    tune = commands.add_parser("tune", help="the tuning database: show, export, import, reset")
    actions = tune.add_subparsers(dest="action", required=True)
    show_parser = actions.add_parser("show", help="records as tables: variant, samples, median, chosen")
    show_parser.add_argument("--kernel", help="a kernel name or key prefix")
    show_parser.set_defaults(run=show)
    export_parser = actions.add_parser("export", help="records to FILE as JSON lines")
    export_parser.add_argument("file")
    export_parser.add_argument("--kernel", help="a kernel name or key prefix")
    export_parser.set_defaults(run=export)
    import_parser = actions.add_parser("import", help="records from FILE (JSON lines); existing records are kept")
    import_parser.add_argument("file")
    import_parser.set_defaults(run=import_)
    reset_parser = actions.add_parser("reset", help="delete records (all, or one kernel's)")
    reset_parser.add_argument("--kernel", help="a kernel name or key prefix")
    reset_parser.set_defaults(run=reset)


def run_guarded(run, args):
    """Daemon errors as one line, not a traceback."""
    try:
        return run(args)
    except _daemon.DaemonUnavailable as error:
        print(f"sejitsd: not running ({error})", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001
        details = error.details() if hasattr(error, "details") else str(error)
        print(f"sejits tune: {details}", file=sys.stderr)
        return 1
