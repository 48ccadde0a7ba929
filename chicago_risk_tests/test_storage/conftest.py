from chicago_risk_tests.s3_server import s3_server  # noqa: F401  (the session's S3 server)
