from chicago_risk_tests.fixtures.s3 import s3_server  # noqa: F401  (the session's S3 server)
