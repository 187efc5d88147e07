"""``kneegrade-api`` (or ``python -m kneegrade_api``): serve the API with uvicorn."""

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> None:
    """Serve on port 5011; settings come from the ``KNEEGRADE_*`` environment variables."""
    parser = argparse.ArgumentParser(
        prog="kneegrade-api",
        description="Serve the KneeGrade REST API; settings come from KNEEGRADE_* variables.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface"
    )
    parser.add_argument("--port", type=int, default=5011)
    args = parser.parse_args(argv)
    uvicorn.run(
        "kneegrade_api.main:app", host=args.host, port=args.port, server_header=False
    )


if __name__ == "__main__":
    main()
