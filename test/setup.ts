// Runs in every test worker before the test files: the same clock zone and quiet, local-only Powertools.
process.env.TZ = 'UTC';
process.env.POWERTOOLS_SERVICE_NAME ??= 'databricks-cluster-recovery';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'DatabricksClusterRecoveryTest';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
